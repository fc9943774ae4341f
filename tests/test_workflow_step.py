"""The "Find releases" step: outputs through the same finder and renderers as /releases."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest.mock import Mock

import pytest
from slack_bolt import Complete, Fail
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.app.finder import ReleaseFinder
from bot.app.workflow_step import FindReleasesStep, StepError
from bot.cache.release_cache import ReleaseCache
from bot.cache.replay import LocalReplayGuard
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.workflow_step_view import message_mrkdwn, release_ids_text
from bot.slack.rate_limits import RETRIES
from bot.slack.workflow_step_listeners import find_releases_step, on_find_releases_step
from tests.fakes.clock import FakeClock
from tests.render.support import NASTY, find, release
from tests.render.support import NOW as RENDER_NOW
from tests.slack.support import stub_delivery

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EVENT = {"type": "function_executed", "function_execution_id": "Fx0STEP"}


@pytest.fixture
def step(demo_cache: ReleaseCache) -> FindReleasesStep:
    return FindReleasesStep(ReleaseFinder(demo_cache), FakeClock(NOW))


def test_a_group_filter_gives_the_list_its_count_and_ids(step: FindReleasesStep) -> None:
    outputs = step.run("group:DWH_GROUP open")
    ids = outputs.release_ids.split(",")
    assert outputs.count == len(ids) > 0
    assert "DWH_GROUP" in outputs.summary
    assert "LAKE_GROUP" not in outputs.summary


def test_an_empty_filter_means_open_releases(step: FindReleasesStep) -> None:
    assert step.run("").count == step.run("open").count
    assert step.run(None).count == step.run("open").count


def test_standup_gives_the_standup_view(step: FindReleasesStep) -> None:
    outputs = step.run("standup group:DWH_GROUP")
    assert outputs.summary
    assert outputs.count == step.run("group:DWH_GROUP open").count


def test_one_release_by_id(step: FindReleasesStep) -> None:
    outputs = step.run("#21")
    assert (outputs.count, outputs.release_ids) == (1, "21")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bogus:1", "bogus"),
        ("group:NO_SUCH_GROUP", "NO_SUCH_GROUP"),
        ("#999999", "999999"),
        ("subscribe group:DWH_GROUP", "subscriptions"),
        ("x" * 2001, "longer"),
    ],
)
def test_what_cannot_be_answered_says_why(step: FindReleasesStep, text: str, reason: str) -> None:
    with pytest.raises(StepError) as caught:
        step.run(text)
    assert reason in str(caught.value)
    assert "`" not in str(caught.value)  # shown as plain text


def test_a_filter_that_is_not_text_is_refused(step: FindReleasesStep) -> None:
    with pytest.raises(StepError):
        step.run(42)


def test_the_listener_completes_with_the_outputs(step: FindReleasesStep) -> None:
    complete, fail = Mock(Complete), Mock(Fail)
    find_releases_step(step, {"filter": "group:DWH_GROUP"}, complete, fail)
    fail.assert_not_called()
    outputs = complete.call_args.kwargs["outputs"]
    assert set(outputs) == {"summary", "count", "release_ids"}


def test_the_listener_fails_with_the_reason(step: FindReleasesStep) -> None:
    complete, fail = Mock(Complete), Mock(Fail)
    find_releases_step(step, {"filter": "bogus:1"}, complete, fail)
    complete.assert_not_called()
    assert "bogus" in fail.call_args.args[0]


def test_an_unexpected_error_fails_with_a_reference_and_no_trace() -> None:
    broken = Mock(FindReleasesStep)
    broken.run.side_effect = RuntimeError("secret internals")
    complete, fail = Mock(Complete), Mock(Fail)
    find_releases_step(broken, {"filter": ""}, complete, fail)
    complete.assert_not_called()
    error = fail.call_args.args[0]
    assert "ref " in error
    assert "secret internals" not in error


def test_the_listener_hands_the_step_to_a_work_thread(step: FindReleasesStep) -> None:
    delivery, work, _ = stub_delivery()
    complete, fail = Mock(Complete), Mock(Fail)
    on_find_releases_step(
        step, delivery, LocalReplayGuard(), {"filter": "group:DWH_GROUP"}, complete, fail, EVENT
    )
    complete.assert_not_called()  # the event is acked before the lookup
    work.run_all()
    fail.assert_not_called()
    assert set(complete.call_args.kwargs["outputs"]) == {"summary", "count", "release_ids"}


def test_a_full_queue_fails_the_step_saying_the_bot_is_busy(step: FindReleasesStep) -> None:
    delivery, _, notices = stub_delivery(full=True)
    complete, fail = Mock(Complete), Mock(Fail)
    on_find_releases_step(
        step, delivery, LocalReplayGuard(), {"filter": "group:DWH_GROUP"}, complete, fail, EVENT
    )
    fail.assert_not_called()  # not in the request's thread either
    notices.run_all()
    complete.assert_not_called()
    assert "busy" in fail.call_args.args[0]


def test_a_retried_execution_completes_once(step: FindReleasesStep) -> None:
    delivery, work, _ = stub_delivery()
    seen = LocalReplayGuard()
    complete, fail = Mock(Complete), Mock(Fail)
    for _ in range(3):  # the delivery and Slack's retries of it: one execution id
        on_find_releases_step(
            step, delivery, seen, {"filter": "group:DWH_GROUP"}, complete, fail, EVENT
        )
    work.run_all()
    assert complete.call_count == 1
    fail.assert_not_called()
    other = {**EVENT, "function_execution_id": "Fx0OTHER"}
    on_find_releases_step(step, delivery, seen, {"filter": "open"}, complete, fail, other)
    work.run_all()
    assert complete.call_count == 2


def test_a_retry_while_busy_fails_the_execution_once(step: FindReleasesStep) -> None:
    delivery, _, notices = stub_delivery(full=True)
    seen = LocalReplayGuard()
    complete, fail = Mock(Complete), Mock(Fail)
    for _ in range(2):
        on_find_releases_step(step, delivery, seen, {"filter": "open"}, complete, fail, EVENT)
    notices.run_all()
    assert fail.call_count == 1


@pytest.mark.parametrize("inputs", ["group:DWH_GROUP", ["filter"], 5])
def test_inputs_that_are_no_object_fail_the_step_saying_so(
    step: FindReleasesStep, inputs: object
) -> None:
    complete, fail = Mock(Complete), Mock(Fail)
    find_releases_step(step, inputs, complete, fail)
    complete.assert_not_called()
    assert "filter" in fail.call_args.args[0]


@pytest.mark.parametrize("mention", ["<!channel>", "<@U0ADA>", "<!subteam^S0TEAM|@team>"])
def test_a_mention_in_the_filter_stays_escaped_in_the_reason(
    step: FindReleasesStep, mention: str
) -> None:
    with pytest.raises(StepError) as caught:
        step.run(mention)
    reason = str(caught.value)
    assert "<" not in reason
    assert ">" not in reason
    assert mention.strip("<>").split("|")[-1] in reason.replace("&lt;", "").replace("&gt;", "")


def test_a_refused_completion_is_logged_not_raised(
    step: FindReleasesStep, caplog: pytest.LogCaptureFixture
) -> None:
    complete, fail = Mock(Complete), Mock(Fail)
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={},
        data={"ok": False, "error": "invalid_auth"}, headers={}, status_code=200,
    )
    complete.side_effect = SlackApiError("invalid_auth", response)  # type: ignore[no-untyped-call]
    find_releases_step(step, {"filter": "group:DWH_GROUP"}, complete, fail)
    assert "invalid_auth" in caplog.text


def _rate_limited() -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={},
        data={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "7"}, status_code=429,
    )
    return SlackApiError("ratelimited", response)  # type: ignore[no-untyped-call]


def test_a_rate_limited_completion_is_sent_again_after_retry_after_a_few_times(
    step: FindReleasesStep, caplog: pytest.LogCaptureFixture
) -> None:
    delivery, work, _ = stub_delivery()
    complete, fail = Mock(Complete), Mock(Fail)
    complete.side_effect = _rate_limited()
    on_find_releases_step(
        step, delivery, LocalReplayGuard(), {"filter": "group:DWH_GROUP"}, complete, fail, EVENT
    )
    work.run_all()
    tries = 1
    while work.later:  # each try waits for its own Retry-After, on no thread
        seconds, again = work.later.pop()
        assert seconds == 7.0
        again()
        tries += 1
    assert tries == 1 + RETRIES
    outputs = [c.kwargs["outputs"] for c in complete.call_args_list]
    assert len(outputs) == tries
    assert all(o == outputs[0] for o in outputs)  # the same outputs each time
    fail.assert_not_called()
    assert "given up" in caplog.text


def test_a_rate_limited_busy_failure_is_sent_again_from_the_notice_queue(
    step: FindReleasesStep,
) -> None:
    delivery, work, notices = stub_delivery(full=True)
    complete, fail = Mock(Complete), Mock(Fail)
    fail.side_effect = [_rate_limited(), None]  # Slack allows the second try
    on_find_releases_step(
        step, delivery, LocalReplayGuard(), {"filter": "open"}, complete, fail, EVENT
    )
    notices.run_all()
    ((seconds, again),) = notices.later
    assert (seconds, work.later) == (7.0, [])  # the full work queue is not asked
    again()
    assert fail.call_count == 2
    assert all("busy" in c.args[0] for c in fail.call_args_list)
    complete.assert_not_called()


# ---- the summary text -----------------------------------------------------------------


def test_summary_keeps_text_and_drops_buttons_within_the_limit() -> None:
    releases = tuple(release(i, NASTY + str(i)) for i in range(1, 16))
    message = render_list(find(releases), RENDER_NOW, 15)
    summary = message_mrkdwn(message)
    assert len(summary) <= 3000
    assert "Details" not in summary  # buttons are not text
    assert "<!channel>" not in summary
    assert "&lt;!channel&gt;" in summary


def test_summary_of_a_message_without_blocks_is_its_text() -> None:
    assert message_mrkdwn(Message(text="plain")) == "plain"


def test_release_ids_keep_whole_ids_within_the_limit() -> None:
    assert release_ids_text([21, 22, 305]) == "21,22,305"
    assert release_ids_text([123, 456], limit=5) == "123"
    assert len(release_ids_text(range(100_000, 101_000))) <= 1000


def test_count_ids_and_summary_agree_and_the_summary_says_what_it_shows(
    step: FindReleasesStep,
) -> None:
    outputs = step.run("")
    ids = outputs.release_ids.split(",")
    assert outputs.count == len(ids) == 16  # every open release of the demo data
    rows = [line for line in outputs.summary.splitlines() if " · " in line and "#" in line]
    rows = [line for line in rows if not line.startswith("Filters")]
    assert "page 1 of" not in outputs.summary  # a workflow has no pages to turn
    assert f"{len(rows)} of 16 shown" in outputs.summary
    assert all(f"#{i} " in outputs.summary for i in ids[: len(rows)])


def test_a_summary_that_shows_everything_says_no_more(step: FindReleasesStep) -> None:
    outputs = step.run("group:DWH_GROUP open")
    assert " shown" not in outputs.summary
    assert "page " not in outputs.summary
