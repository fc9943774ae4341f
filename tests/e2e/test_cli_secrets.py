"""The command as an operator runs it: no configured secret reaches its output or its log."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.demo import DEMO_EMAIL, DemoApiServer
from tests.e2e.conftest import VENV_BIN, clean_env

pytestmark = pytest.mark.slow

SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
MK_PASSWORD = "s3cr3t, pass}word@x"
DB_PASSWORD = "db/p@ss, w}rd"


def test_check_masks_the_configured_secrets_an_upstream_error_echoes(tmp_path: Path) -> None:
    with DemoApiServer() as api:
        echoed = (
            f"login for {DEMO_EMAIL} with {MK_PASSWORD} failed; signing {SIGNING_SECRET}; "
            f"db {DB_PASSWORD} ({quote(DB_PASSWORD, safe='')})"
        )
        api.switches.fail_next(status=418, message=echoed, path="/authentication")
        result = subprocess.run(
            [str(VENV_BIN / "releases-bot"), "check"],
            cwd=tmp_path,
            env=clean_env(
                METAKRAFTWERK_URL=api.url,
                METAKRAFTWERK_EMAIL=DEMO_EMAIL,
                METAKRAFTWERK_PASSWORD=MK_PASSWORD,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                DATABASE_URL=f"postgresql://bot:{quote(DB_PASSWORD, safe='')}@127.0.0.1/bot",
            ),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "MetaKraftwerk answered HTTP 418 (ref " in result.stdout
    assert f"login for {DEMO_EMAIL} with *** failed; signing ***; db *** (***)" in result.stdout
    assert "(ref " not in result.stderr  # said once, in the report, not logged again
    for secret in (MK_PASSWORD, SIGNING_SECRET, DB_PASSWORD, quote(DB_PASSWORD, safe="")):
        assert secret not in output
