"""The console on a real terminal (a pseudo-terminal): line editing, history, bold text."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from bot.console.repl import PROMPT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


class Terminal:
    """`releases-bot console` with its stdin and stdout on a pseudo-terminal."""

    def __init__(self) -> None:
        self.main, secondary = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("METAKRAFTWERK")}
        env.pop("NO_COLOR", None)
        env["TERM"] = "xterm"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console"],
            stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True,
        )
        os.close(secondary)
        self.seen = b""

    def read_until(self, marker: bytes, timeout: float = 60.0) -> bytes:
        end = time.monotonic() + timeout
        start = len(self.seen)
        while marker not in self.seen[start:]:
            left = end - time.monotonic()
            assert left > 0, f"never saw {marker!r}; got {self.seen[start:][-500:]!r}"
            ready, _, _ = select.select([self.main], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.main, 65536)
                except OSError:  # the console ended
                    break
        return self.seen[start:]

    def type(self, keys: bytes) -> None:
        os.write(self.main, keys)

    def close(self) -> None:
        self.type(b":quit\r")
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.main)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    term.read_until(PROMPT.encode())
    try:
        yield term
    finally:
        term.close()


def test_the_up_arrow_brings_back_the_last_command(terminal: Terminal) -> None:
    terminal.type(b"/releases R60\r")
    first = terminal.read_until(PROMPT.encode())  # the answer, then the next prompt
    assert b"R60" in first
    terminal.type(b"\x1b[A\r")  # up arrow, enter
    again = terminal.read_until(PROMPT.encode())
    assert b"^[[A" not in again
    assert b"No release named" not in again
    assert b"R60" in again


def test_bold_text_is_bold_on_a_terminal(terminal: Terminal) -> None:
    terminal.type(b"/releases group:DWH_GROUP\r")
    shown = terminal.read_until(PROMPT.encode())
    assert b"\x1b[1mR59\x1b[0m" in shown
    assert b"*R59*" not in shown
