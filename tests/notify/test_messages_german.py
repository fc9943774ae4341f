"""The worker's posts and direct messages and the notification commands' views, in English and
German side by side: the German ones are German (dates by Babel, `<!date^…>` tokens kept), and
the longest of them hold every Block Kit limit."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest

from bot.app.finder import EVERYTHING, FindResult
from bot.i18n import ENGLISH, Texts, texts_for
from bot.notify.changes import KIND_ORDER, ChangeKind
from bot.notify.delivery_trouble import MAX_FAILED_SHOWN, DeliveryTrouble, trouble_blocks
from bot.notify.digests import schedule_words
from bot.notify.follow_commands import render_following
from bot.notify.follow_messages import render_followed
from bot.notify.follow_routing import HOTFIX
from bot.notify.messages import change_line, render_change, render_digest, render_parent
from bot.notify.records import FailedDelivery, Subscription
from bot.notify.store.worker_status import TokenRefusal
from bot.notify.subscription_list import MAX_PER_CHANNEL, render_subscriptions
from bot.query import Query
from bot.render.message import Message
from bot.schedule import parse_schedule
from tests.notify.test_messages import EVENTS, GROUP_NAMES, TEAM_MENTION
from tests.render.limits import all_text, assert_valid
from tests.render.support import NOW, fresh, many, nasty_release, release
from tests.render.test_german import _english_leftovers

GERMAN = texts_for("de")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MANAGERS = tuple(f"U{n:08d}" for n in range(14))
MENTIONS = (TEAM_MENTION, "<@U0ADA>", *(f"<@{user}>" for user in MANAGERS))
LONG_FILTERS = "open " + " ".join(f"group:VERY_LONG_RELEASE_GROUP_NAME_{n}" for n in range(12))


def _subscription(sub_id: int, kind: str = "change", **extra: object) -> Subscription:
    values: dict[str, object] = {
        "id": sub_id, "team_id": "T1", "channel_id": "C1", "kind": kind,
        "filters": LONG_FILTERS, "schedule": "mon,wed,fri 09:30" if kind == "digest" else None,
        "timezone": "America/Argentina/ComodRivadavia" if kind == "digest" else None,
        "mention": TEAM_MENTION, "created_by": "U0ADA", "created_at": NOW - timedelta(days=3),
        "events": ("closed", "reopened", "dates") if kind == "change" else (),
        "language": "de",
    }
    values.update(extra)
    return Subscription(**values)  # type: ignore[arg-type]


def _longest_list(t: Texts) -> Message:
    """As many subscriptions as a channel may have, paused with long reasons, and trouble."""
    subs = [
        _subscription(
            n, "digest" if n % 2 else "change",
            paused_at=NOW if n % 3 == 0 else None,
            paused_reason="not_in_channel: the app is not a member of this channel " * 8,
        )
        for n in range(1, MAX_PER_CHANNEL + 6)
    ]
    trouble = DeliveryTrouble(
        failed=tuple(
            FailedDelivery(n, n, 21, "dates_changed", 12, "gave up: " + "x" * 400, NOW)
            for n in range(MAX_FAILED_SHOWN + 1)
        ),
        token_refused=TokenRefusal("token_revoked", NOW),
    )
    managers = frozenset(MANAGERS)
    return render_subscriptions(subs, NOW, managers=managers, trouble=trouble_blocks(trouble, t),
                                t=t)


def _hotfix_payload() -> dict[str, object]:
    hotfix = release(30, "R21.HF1", hotfix_of_id=21)
    payload = EVENTS["created"].to_payload()
    payload["release"] = EVENTS["created"].to_payload()["release"] | {
        "id": hotfix.id, "name": hotfix.name
    }
    return {**payload, "followed": {"id": 21, "name": "R21"}, "group_name": "DWH_GROUP"}


def _views(t: Texts) -> dict[str, Message]:
    nasty = nasty_release()
    everything = FindResult(EVERYTHING, (*many(6), nasty), GROUP_NAMES, fresh())
    quiet = FindResult(EVERYTHING, (), GROUP_NAMES, fresh(90, stale=True))
    views: dict[str, Message] = {}
    for kind in KIND_ORDER:
        event = EVENTS[kind]
        views[f"parent {kind}"] = render_parent(
            event, group_name="DWH_GROUP", mention=TEAM_MENTION, now=NOW, t=t
        )
        views[f"thread {kind}"] = render_change(event, now=NOW, t=t)
        views[f"direct {kind}"] = render_followed(
            kind, {**event.to_payload(), "group_name": "DWH_GROUP"}, now=NOW, t=t
        )
    views["direct hotfix"] = render_followed(HOTFIX, _hotfix_payload(), now=NOW, t=t)
    views["digest"] = render_digest(everything, NOW, query=Query(), tz=BERLIN, t=t)
    views["empty digest"] = render_digest(quiet, NOW, query=Query(), tz=BERLIN, t=t)
    views["subscriptions"] = _longest_list(t)
    views["no subscriptions"] = render_subscriptions([], NOW, t=t)
    known = {r.id: r for r in (*many(45), nasty)}
    views["following"] = render_following(
        [*known, 999], known, GROUP_NAMES, NOW, trouble="The API timed out",
        paused={1: "channel_not_found " * 30}, t=t,
    )
    views["following nothing"] = render_following([], {}, {}, NOW, t=t)
    return views


def test_english_is_what_it_was_without_a_texts_argument() -> None:
    event = EVENTS["closed"]
    assert render_parent(event, group_name="G", mention=None, now=NOW, t=ENGLISH) == (
        render_parent(event, group_name="G", mention=None, now=NOW)
    )
    assert render_digest(
        FindResult(EVERYTHING, (), GROUP_NAMES, fresh()), NOW, query=Query(), tz=BERLIN
    ).text.startswith(":sunny: Digest · open: nothing to report")
    assert "Subscriptions in this channel · 45" in all_text(_longest_list(ENGLISH))


@pytest.mark.parametrize("name", sorted(_views(ENGLISH)))
def test_the_german_view_is_german_and_within_every_limit(name: str) -> None:
    english, german = _views(ENGLISH)[name], _views(GERMAN)[name]
    assert_valid(german, allow=MENTIONS)
    assert all_text(german) != all_text(english)
    assert _english_leftovers(all_text(german)) == []


@pytest.mark.parametrize("kind", KIND_ORDER)
def test_a_change_in_german_keeps_slacks_date_tokens(kind: ChangeKind) -> None:
    parent = render_parent(EVENTS[kind], group_name="DWH_GROUP", mention=None, now=NOW,
                           t=GERMAN)
    assert "<!date^" in all_text(parent)
    assert "letzte Änderung" in all_text(parent)


def test_the_german_lines_say_what_changed() -> None:
    assert change_line(EVENTS["closed"], rich=False, t=GERMAN) == "R21 geschlossen"
    assert change_line(EVENTS["renamed"], rich=False, t=GERMAN) == "R21-final umbenannt (war R21)"
    dates = change_line(EVENTS["dates_changed"], rich=False, t=GERMAN)
    assert dates.startswith("R21 Termine geändert: Ende ")
    end = GERMAN.date(NOW + timedelta(days=4))
    assert dates == f"R21 Termine geändert: Ende {end} → {GERMAN.date(NOW + timedelta(days=11))}"
    assert "-" not in end  # Babel's date (`9. März 2024`), not ISO


def test_a_digest_schedule_in_german() -> None:
    assert schedule_words(parse_schedule("weekdays", "09:00"), GERMAN) == "werktags um 09:00"
    assert schedule_words(parse_schedule("mon,thu", "09:30"), GERMAN) == "Mo., Do. um 09:30"
    assert schedule_words(parse_schedule("mon,thu", "09:30")) == "Mon, Thu at 09:30"


def test_the_filters_are_restated_in_german_words() -> None:
    query = Query(status="all", groups=("DWH_GROUP", "LAKE"), exclude_names=("R9",), hotfix=False)
    assert query.describe() == (
        "open and closed · group DWH_GROUP or LAKE · name not R9 · no hotfixes · deleted hidden"
    )
    assert query.describe(GERMAN) == (
        "offen und geschlossen · Gruppe DWH_GROUP oder LAKE · Name nicht R9 · keine Hotfixes"
        " · gelöschte ausgeblendet"
    )
    quiet = FindResult(EVERYTHING, (), GROUP_NAMES, fresh())
    german = render_digest(quiet, NOW, query=Query(groups=("DWH_GROUP",)), tz=BERLIN, t=GERMAN)
    assert german.text.startswith(":sunny: Zusammenfassung · offen · Gruppe DWH_GROUP: nichts")
