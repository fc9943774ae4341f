"""Slack's 429s in the web process: read Retry-After, try again later, or give up once."""

from __future__ import annotations

from typing import cast

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack.rate_limits import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, again_later, retry_after
from bot.slack.work import WorkQueue
from tests.slack.support import HeldWork


def _error(status: int, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={},
        data={"ok": False, "error": "ratelimited" if status == 429 else "not_enabled"},
        headers=headers or {}, status_code=status,
    )
    return SlackApiError("error", response)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("status", "headers", "seconds"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (429, {"retry-after": "3"}, 3.0),
        (429, {}, DEFAULT_WAIT_SECONDS),
        (429, {"Retry-After": "soon"}, DEFAULT_WAIT_SECONDS),
        (429, {"Retry-After": "inf"}, DEFAULT_WAIT_SECONDS),
        (200, {"Retry-After": "7"}, None),
    ],
)
def test_retry_after_is_read_for_a_429_only(
    status: int, headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after(_error(status, headers)) == seconds


def test_a_429_is_offered_again_after_its_wait() -> None:
    work = HeldWork()
    tries: list[int] = []
    error = _error(429, {"Retry-After": "5"})
    assert again_later(cast(WorkQueue, work), error, tries.append, what="x", retries_left=2)
    ((seconds, job),) = work.later
    assert seconds == 5.0
    job()
    assert tries == [1]


@pytest.mark.parametrize(
    ("retry_after_header", "retries_left"), [("5", 0), (str(int(MAX_WAIT_SECONDS) + 1), 2)]
)
def test_a_429_without_retries_left_or_with_a_long_wait_is_given_up_once(
    retry_after_header: str, retries_left: int, caplog: pytest.LogCaptureFixture
) -> None:
    work = HeldWork()
    error = _error(429, {"Retry-After": retry_after_header})
    assert again_later(cast(WorkQueue, work), error, lambda left: None, what="views.publish",
                       retries_left=retries_left)
    assert work.later == []
    assert "views.publish rate-limited by Slack" in caplog.text
    assert "given up" in caplog.text


def test_any_other_error_is_left_to_the_caller() -> None:
    work = HeldWork()
    assert not again_later(cast(WorkQueue, work), _error(200), lambda left: None, what="x",
                           retries_left=2)
    assert work.later == []
