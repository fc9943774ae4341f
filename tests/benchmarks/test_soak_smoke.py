"""The soak script for about 10 s, so that it keeps working as the bot changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_soak_runs_and_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "soak.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--minutes", "0.17", "--warmup", "2", "--rate", "5",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in out.read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| figure")
    }
    assert int(rows["commands sent"]) >= 40
    assert rows["unanswered commands"] == "0"
    assert rows["acks over 3 s"] == "0"
    assert float(rows["worker RSS start (MB)"]) > 0
    assert rows["tracebacks"] == "0"
