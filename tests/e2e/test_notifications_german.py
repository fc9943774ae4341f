"""Notifications in German end to end: the Procfile's `web` and `worker` on one SQLite file.

A channel's posts go by its subscription's language (`lang:de`), whoever made it; a follower's
direct messages go by the follower's Slack locale (`users.info` says `de-DE`), which the
worker looks up itself. A subscription without `lang:` stays English (DEFAULT_LANGUAGE).
Nothing is timed: the tests wait for worker rounds or states.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.notify.store.schema import subscriptions
from tests.e2e.conftest import Notifier, all_text
from tests.e2e.test_follows import DM, USER, direct_messages
from tests.e2e.test_notifications import (
    GROUP,
    add_release,
    channel_subscriptions,
    command,
    opened_store,
    wait_baselines,
    wait_until,
)

pytestmark = pytest.mark.slow


def _confirmed(notifier: Notifier, channel: str, text: str) -> str:
    answer = command(notifier, channel, text)
    assert answer.get("response_type") == "in_channel", answer
    return all_text(answer)


def test_a_german_subscription_posts_in_german_and_a_german_follower_reads_german(
    notifier: Notifier,
) -> None:
    slack, data = notifier.slack, notifier.demo.data
    slack.script.users_locale[USER] = "de-DE"  # the person typing every command
    release_id = add_release(notifier, "LANG-E2E-A")
    said = _confirmed(notifier, "CDE", f"subscribe group:{GROUP} lang:de")
    assert "hat für diesen Channel Release-Änderungen abonniert" in said, said
    assert "(`lang:de`)" in said
    _confirmed(notifier, "CEN", f"subscribe group:{GROUP}")  # no lang: the default, English
    followed = command(notifier, "CDE", f"follow {release_id}")
    assert "Du folgst jetzt *LANG-E2E-A*" in followed["text"], followed
    listed = all_text(command(notifier, "CDE", "subscriptions"))
    assert "Abos in diesem Channel · 1" in listed
    assert "`lang:de`" in listed
    wait_baselines(notifier, "CDE", "CEN")

    data.close(release_id)
    wait_until(
        "the closing posts and the DM",
        lambda: bool(slack.accepted("chat.postMessage", "CDE"))
        and bool(slack.accepted("chat.postMessage", "CEN"))
        and bool(direct_messages(notifier)),
        notifier,
    )
    [german] = slack.accepted("chat.postMessage", "CDE")
    assert german.args["text"] == "LANG-E2E-A geschlossen (DWH_GROUP)"
    parent = all_text(german.args)
    assert "Geschlossen · DWH_GROUP" in parent
    assert "letzte Änderung <!date^" in parent  # Slack still shows each reader's own time
    assert "spätere Änderungen kommen in den Thread" in parent
    [english] = slack.accepted("chat.postMessage", "CEN")
    assert english.args["text"] == "LANG-E2E-A closed (DWH_GROUP)"
    assert "later changes are posted in the thread" in all_text(english.args)

    [dm] = direct_messages(notifier)
    assert dm["text"] == "LANG-E2E-A geschlossen"
    assert "Du folgst Release #" in all_text(dm)
    assert "Nicht mehr folgen" in all_text(dm)
    locales = [c.args for c in slack.calls_to("users.info") if c.args.get("user") == USER]
    assert any(str(a.get("include_locale")).lower() in ("1", "true") for a in locales)

    data.open(release_id)  # the thread reply, in the subscription's language too
    wait_until("the reply in CDE's thread",
               lambda: len(slack.accepted("chat.postMessage", "CDE")) == 2, notifier)
    reply = slack.accepted("chat.postMessage", "CDE")[1]
    assert reply.args["thread_ts"] == german.body["ts"]
    assert reply.args["text"] == "LANG-E2E-A wieder geöffnet"
    assert slack.accepted("chat.postMessage", DM)[-1].args["text"] in (
        "LANG-E2E-A geschlossen", "LANG-E2E-A wieder geöffnet"
    )


def test_a_german_digest_is_posted_in_german(notifier: Notifier) -> None:
    slack = notifier.slack
    minute = datetime.now(UTC).strftime("%H:%M")
    said = _confirmed(notifier, "CDIGEST", f"digest daily {minute} tz:UTC group:{GROUP} lang:de")
    assert "set up a digest in this channel" in said  # the asker reads English
    assert "Its posts are in Deutsch (`lang:de`)." in said
    [digest] = channel_subscriptions(notifier, "CDIGEST")
    assert digest.language == "de"
    # As made, it is first due tomorrow; made an hour earlier, today's is due now (see
    # test_notifications' digest test).
    with opened_store(notifier) as store, store.engine.begin() as conn:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == digest.id)
            .values(created_at=digest.created_at - timedelta(hours=1))
        )
    wait_until("the digest in CDIGEST",
               lambda: bool(slack.accepted("chat.postMessage", "CDIGEST")), notifier)
    [post] = slack.accepted("chat.postMessage", "CDIGEST")
    text = all_text(post.args)
    assert "Zusammenfassung · offen · Gruppe DWH_GROUP" in text, text
    assert "Filter: offen und geschlossen · Gruppe DWH_GROUP" in text
    assert "Digest ·" not in text
    assert "Open releases" not in text
