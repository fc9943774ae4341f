"""The read-only database probe behind `releases-bot check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.notify.store import Store
from bot.notify.store.migrations import head_version
from bot.notify.store.probe import ProbeFailed, probe_database


def test_a_migrated_database_reports_its_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    Store.from_url(url).close()
    state = probe_database(url)
    assert state.version == state.expected == head_version()
    assert not state.missing_file


def test_a_missing_file_is_reported_not_created(tmp_path: Path) -> None:
    state = probe_database(f"sqlite:///{tmp_path / 'bot.db'}")
    assert state.missing_file
    assert not (tmp_path / "bot.db").exists()


def test_an_empty_database_has_no_schema_yet(tmp_path: Path) -> None:
    (tmp_path / "bot.db").touch()
    assert probe_database(f"sqlite:///{tmp_path / 'bot.db'}").version == 0


def test_a_refused_connection_is_one_line_without_the_password() -> None:
    with pytest.raises(ProbeFailed) as failed:
        probe_database("postgresql://u:secret-7f@127.0.0.1:9/db")
    assert "secret-7f" not in str(failed.value)
    assert "\n" not in str(failed.value)
