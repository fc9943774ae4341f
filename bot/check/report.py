"""What `releases-bot check` prints: a line per finding, failures naming the setting at fault."""

from __future__ import annotations

from typing import TextIO


class Report:
    """Lines to the operator's terminal; callers pass only masked or redacted text."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.failures = 0

    def line(self, text: str) -> None:
        self._out.write(text + "\n")

    def fail(self, setting: str, text: str) -> None:
        """One line: `check failed (SETTING): what is wrong`."""
        self.failures += 1
        self.line(f"check failed ({setting}): " + " ".join(text.split()))

    def warn(self, setting: str, text: str) -> None:
        """One line that does not fail the check: it works, but maybe not as meant."""
        self.line(f"warning ({setting}): " + " ".join(text.split()))
