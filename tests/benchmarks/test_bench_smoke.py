"""The web benchmark with tiny numbers, so that the harness keeps working as the bot changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_bench_web_runs_both_apps_and_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "web.md"
    result = subprocess.run(
        [
            sys.executable, "-m", "bench.web",
            "--commands", "10", "--concurrency", "2", "--schemes", "http",
            "--shared", "off", "--out", str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    table = out.read_text()
    assert "### response_url over HTTP" in table
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| figure")
    }
    # Both apps answered every command, and each figure was measured for both.
    assert rows["failed commands"][:2] == ["0", "0"], table
    for figure in ("ack p50 (ms)", "answer p50 (ms)", "answer p99 (ms)"):
        measured = [float(cell) for cell in rows[figure][:3]]  # bot, bare Bolt, ratio
        assert min(measured) > 0, table
    assert "HTTPS" not in table
