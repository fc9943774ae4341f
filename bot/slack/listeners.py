"""Bolt listeners: ack in the request's own thread, answer on the work queue.

The app runs with `process_before_response=True`, so each listener below runs in the thread
that serves the HTTP request (or the Socket Mode envelope), and its ack goes out as soon as it
returns: it reads the payload, offers the work to `delivery.work` and acks. A full queue is
answered at once with a "busy" notice. A payload of the wrong shape is answered 200 with one
log line and nothing else (a command: an ephemeral saying it could not be read), since Slack
shows its user an error for any other status: `ReadablePayload` stops the shapes Bolt itself
would crash on, a listener raises MalformedPayload for the rest. The answer itself comes from
`Answers`, on a work thread; a button whose answer opens a modal (views.open spends the
trigger_id, which Slack accepts for 3 s only) is answered on `delivery.triggers` instead, so
that it never waits behind the lookups on `delivery.work`. A search form of the app's first
version, still open from before an upgrade, is answered at once with a view saying to open a
new one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.app.answers import Answers
from bot.render import actions
from bot.render.errors import ACTION_OPEN_HOME
from bot.render.search_modal import RETIRED_SEARCH_CALLBACK, render_outdated_form
from bot.slack import payload
from bot.slack.reply_delivery import BUSY_TEXT, Delivery
from bot.slack.work import WorkQueue

log = logging.getLogger(__name__)

COMMAND = "/releases"
FIND_RELEASES_CALLBACK = "find_releases"
# Set by the request front once the signature checked out (see bot/slack/front.py).
SIGNATURE_VERIFIED = "releases_bot_signature_verified"
# Set when one of our listeners has read its payload and accepted the request.
LISTENER_ACCEPTED = "releases_bot_listener_accepted"
UNREADABLE_TEXT = "That request could not be read, so nothing was done. Please try again."
# Buttons whose answer is a modal (`Reply.view`) that needs no lookup: "Search" of the help
# message, of an answer that found nothing and of App Home.
TRIGGER_ACTIONS = frozenset({actions.ACTION_OPEN_SEARCH})


def register(app: App, answers: Answers, delivery: Delivery) -> None:
    """Register every listener of the app on a Bolt App."""
    app.use(ReadablePayload())
    app.command(COMMAND)(partial(on_command, answers, delivery))
    app.shortcut(FIND_RELEASES_CALLBACK)(partial(on_find_releases, answers, delivery))
    app.action(re.compile(actions.ACTION_ID_PATTERN))(partial(on_button, answers, delivery))
    app.view(RETIRED_SEARCH_CALLBACK)(on_retired_form_submitted)
    app.action(ACTION_OPEN_HOME)(lambda ack: ack())  # a link button still needs its ack
    app.error(partial(on_error, answers, delivery))


def on_command(
    answers: Answers, delivery: Delivery, ack: Ack, body: dict[str, Any], context: BoltContext
) -> None:
    caller = payload.command_caller(body, context)
    text = payload.text(body, "text")
    response_url = payload.text(body, "response_url")
    trigger_id = payload.text(body, "trigger_id")
    context[LISTENER_ACCEPTED] = True

    def answer() -> None:
        reply = answers.command(text, caller)
        delivery.deliver(reply, response_url, trigger_id=trigger_id)

    if delivery.work.submit(_guarded(answer, answers, delivery, response_url)):
        ack()
    else:
        log.warning("busy: command from %s answered with the busy notice", caller.user_id)
        ack(text=BUSY_TEXT, response_type="ephemeral")


def on_find_releases(
    answers: Answers, delivery: Delivery, ack: Ack, body: dict[str, Any], context: BoltContext
) -> None:
    caller = payload.interaction_caller(body, context)
    text = payload.text(payload.obj(body, "message"), "text")
    response_url = payload.text(body, "response_url")
    trigger_id = payload.text(body, "trigger_id")
    context[LISTENER_ACCEPTED] = True

    def answer() -> None:
        reply = answers.message_shortcut(text, caller)
        delivery.deliver(reply, response_url, trigger_id=trigger_id)

    _offer(delivery, _guarded(answer, answers, delivery, response_url), response_url)
    ack()


def on_button(
    answers: Answers, delivery: Delivery, ack: Ack, body: dict[str, Any], context: BoltContext
) -> None:
    caller = payload.interaction_caller(body, context)
    action = payload.first_action(body)
    action_id = payload.text(action, "action_id")
    value = payload.text(action, "value")
    response_url = payload.text(body, "response_url")
    trigger_id = payload.text(body, "trigger_id")
    context[LISTENER_ACCEPTED] = True

    def answer() -> None:
        reply = answers.button(action_id, value, caller)
        delivery.deliver(reply, response_url, trigger_id=trigger_id)

    job = _guarded(answer, answers, delivery, response_url)
    if actions.base_action_id(action_id) in TRIGGER_ACTIONS:
        _offer(delivery, job, response_url, lane=delivery.triggers)
    else:
        _offer(delivery, job, response_url)
    ack()


def on_retired_form_submitted(ack: Ack, context: BoltContext) -> None:
    """A search form of the app's first version, opened before an upgrade: nothing it holds is
    read (its metadata named a response URL); the modal says to open a new form."""
    context[LISTENER_ACCEPTED] = True
    ack(response_action="update", view=render_outdated_form())


def on_error(
    answers: Answers, delivery: Delivery, error: Exception, request: BoltRequest, body: Any
) -> BoltResponse:
    # Listeners catch their own errors through Answers; this is the net under that net.
    if request.mode != "socket_mode" and request.context.get(SIGNATURE_VERIFIED) is not True:
        # Never act on a request nobody verified: no answer, no post, one line.
        log.warning("refused an unverified request (%s)", type(error).__name__)
        return BoltResponse(status=401, body="")
    if isinstance(error, payload.MalformedPayload) or not request.context.get(LISTENER_ACCEPTED):
        return malformed_response(body, f"{type(error).__name__}: {str(error)[:200]}")
    text = _unexpected(answers, error)
    response_url = body.get("response_url") if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("command"):
        return BoltResponse(status=200, body={"text": text, "response_type": "ephemeral"})
    if isinstance(response_url, str) and response_url:
        delivery.notify(response_url, text)
    return BoltResponse(status=200, body="")


class ReadablePayload(Middleware):
    """Answers a payload Bolt cannot route before Bolt reads it (its matchers would raise)."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        body = req.body
        reason = payload.unreadable(body) if isinstance(body, dict) else None
        if reason is None:
            return next()
        return malformed_response(body, reason)


def malformed_response(body: Any, reason: str) -> BoltResponse:
    """200 and one log line: nothing for an interaction or event, an ephemeral for a command."""
    log.warning("refused a malformed Slack request: %s", reason)
    if isinstance(body, dict) and body.get("command"):
        return BoltResponse(
            status=200, body={"text": UNREADABLE_TEXT, "response_type": "ephemeral"}
        )
    return BoltResponse(status=200, body="")


def _guarded(
    answer: Callable[[], None], answers: Answers, delivery: Delivery, response_url: str
) -> Callable[[], None]:
    """The answer job: whatever escapes `Answers` is logged with a reference the user sees."""

    def job() -> None:
        try:
            answer()
        except Exception as exc:
            text = _unexpected(answers, exc)
            if response_url:
                delivery.response_urls.post(
                    response_url,
                    {"text": text, "response_type": "ephemeral", "replace_original": False},
                )

    return job


def _unexpected(answers: Answers, error: Exception) -> str:
    ref = answers.log_unexpected(error)
    return f"Something went wrong on our side (ref {ref}). Please try again."


def _offer(
    delivery: Delivery,
    answer: Callable[[], None],
    response_url: str,
    *,
    lane: WorkQueue | None = None,
) -> None:
    """Queue an interaction's answer (on `delivery.work` unless another `lane` is given); when
    the queue is full, say so at its response_url."""
    if (lane if lane is not None else delivery.work).submit(answer):
        return
    log.warning("busy: an interaction was answered with the busy notice")
    if response_url:
        delivery.notify(response_url, BUSY_TEXT)
