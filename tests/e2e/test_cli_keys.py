"""`releases-bot keys new` as an operator runs it: a key alone on stdout, whatever is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.secret_box import SecretBox, valid_key
from tests.e2e.test_cli import releases_bot

pytestmark = pytest.mark.slow


def test_keys_new_prints_a_fresh_key_and_nothing_else(tmp_path: Path) -> None:
    first = releases_bot("keys", "new", cwd=tmp_path)
    second = releases_bot("keys", "new", cwd=tmp_path)
    for result in (first, second):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert result.stdout.endswith("\n")
        assert valid_key(result.stdout.strip()), result.stdout
        assert result.stdout.count("\n") == 1
    assert first.stdout != second.stdout
    box = SecretBox([first.stdout.strip()])
    assert box.open(box.seal("xoxb-1", "t\0f\0r"), "t\0f\0r") == "xoxb-1"


def test_keys_new_needs_no_settings_and_ignores_broken_ones(tmp_path: Path) -> None:
    result = releases_bot(
        "keys", "new", cwd=tmp_path,
        RELEASES_BOT_MODE="distributed", SLACK_BOT_TOKEN="xoxb-1", CACHE_TTL_SECONDS="abc",
    )
    assert result.returncode == 0, result.stderr
    assert valid_key(result.stdout.strip())
    assert result.stderr == ""


def test_keys_rotate_without_keys_stops_in_one_line(tmp_path: Path) -> None:
    result = releases_bot("keys", "rotate", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "releases-bot: SECRET_KEYS is not set: there is no key to re-seal the secrets with"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_keys_rotate_refuses_a_batch_that_is_not_a_count(tmp_path: Path) -> None:
    result = releases_bot("keys", "rotate", "--batch", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "--batch: must be a whole number from 1 to 100000, got '0'" in result.stderr
