"""The claims benchmark with tiny numbers, on a database of its own, so the harness keeps
working as the worker changes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.notify.store.engine import normalize_database_url
from tests.notify.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "releases_bot_claims_bench_smoke"


@pytest.fixture
def bench_url() -> Iterator[str]:
    server = normalize_database_url(PG_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not usable: {type(exc).__name__}")
    try:
        yield server.set(database=DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_bench_claims_scale_writes_its_table(bench_url: str, tmp_path: Path) -> None:
    out = tmp_path / "claims.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench.claims_scale", "--database-url", bench_url,
         "--workers", "1,2", "--connections", "20", "--warmup", "0.5", "--seconds", "1",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=220, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    rows = [line.split("|")[1:-1] for line in out.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| workers")]
    assert [cells[0].strip() for cells in rows] == ["1", "2"]
    assert all(float(cells[1]) > 0 and cells[5].strip() == "0" for cells in rows)
