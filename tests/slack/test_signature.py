"""Slack's signature scheme, checked strictly: odd timestamps are refused, not parsed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.slack.signature import SlackSignature
from tests.fakes.clock import FakeClock

SECRET = "s3cret"
NOW = 1_800_000_000.0
BODY = b"command=%2Freleases&text=open"


def sign(timestamp: str, body: bytes = BODY, secret: str = SECRET) -> str:
    signature = SignatureVerifier(secret).generate_signature(
        timestamp=timestamp, body=body.decode()
    )
    assert signature is not None
    return signature


def checker() -> SlackSignature:
    return SlackSignature(SECRET, clock=FakeClock(datetime.fromtimestamp(NOW, UTC)))


def test_a_signature_made_as_slack_makes_it_is_accepted() -> None:
    verdict = checker().check(str(int(NOW)), sign(str(int(NOW))), BODY)
    assert verdict.ok
    assert verdict.timestamp == int(NOW)


@pytest.mark.parametrize(
    "timestamp",
    [None, "", "abc", "9" * 400, "-1", "1e9", " 1800000000", "1800000000.0", "١٨٠٠٠٠٠٠٠٠"],
    ids=repr,
)
def test_a_timestamp_that_is_not_plain_digits_is_refused(timestamp: str | None) -> None:
    signature = sign(timestamp) if timestamp else "v0=00"
    verdict = checker().check(timestamp, signature, BODY)
    assert not verdict.ok
    assert "timestamp" in verdict.reason


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_five_minutes_is_refused(offset: int) -> None:
    ts = str(int(NOW) + offset)
    verdict = checker().check(ts, sign(ts), BODY)
    assert not verdict.ok
    assert "window" in verdict.reason


@pytest.mark.parametrize("offset", [-300, 300])
def test_the_window_edges_are_inside(offset: int) -> None:
    ts = str(int(NOW) + offset)
    assert checker().check(ts, sign(ts), BODY).ok


@pytest.mark.parametrize(
    "signature",
    [None, "", "v0=", "v1=" + "0" * 64, sign("1800000000", secret="other"), "v0=ü"],
    ids=repr,
)
def test_a_wrong_or_missing_signature_is_refused(signature: str | None) -> None:
    assert not checker().check("1800000000", signature, BODY).ok


def test_a_changed_body_is_refused() -> None:
    ts = str(int(NOW))
    assert not checker().check(ts, sign(ts), BODY + b"&x=1").ok


def test_a_signature_is_remembered_until_it_can_no_longer_be_replayed() -> None:
    ts = int(NOW) - 100
    verdict = checker().check(str(ts), sign(str(ts)), BODY)
    assert verdict.ok
    assert checker().remaining_seconds(verdict) == pytest.approx(201.0)
