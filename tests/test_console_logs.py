"""The console and `ask` keep log lines out of the answers: they go to a file, said once."""

from __future__ import annotations

import io
import logging
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main

LOG_NAME = "releases-bot-console.log"


@pytest.fixture
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private temp dir, and the root logger as it was afterwards."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for name in ("METAKRAFTWERK_URL", "METAKRAFTWERK_USER", "METAKRAFTWERK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield tmp_path
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_ask_prints_only_its_answer_and_faults_go_to_the_log_file(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "/releases"]) == 0
    logging.getLogger("bot.app.finder").warning("the API was slow")
    logging.getLogger("bot.app.finder").info("not a fault")
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith("Open releases")
    assert "WARNING" not in captured.out
    log = (log_dir / LOG_NAME).read_text(encoding="utf-8")
    assert "WARNING bot.app.finder: the API was slow" in log
    assert "not a fault" not in log


def test_the_console_says_once_where_its_log_is_and_a_typo_is_not_logged(
    log_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    typos = "/releases bogus:thing\n/releases #99999\n:nope\n:find \"x\n/other\n1\n:quit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typos))
    assert main(["console"]) == 0
    captured = capsys.readouterr()
    log = log_dir / LOG_NAME
    assert captured.out.count(str(log)) == 1
    assert captured.err == ""
    assert "I don't know the filter" in captured.out
    assert not log.exists() or "WARNING" not in log.read_text(encoding="utf-8")
