"""Every emoji the bot writes shows as the same Unicode character in the console."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

import bot
from bot.app.finder import FindResult
from bot.notify.changes import ChangeEvent
from bot.notify.delivery_trouble import DeliveryTrouble, trouble_blocks
from bot.notify.messages import render_change, render_parent
from bot.notify.records import FailedDelivery, Subscription
from bot.notify.store.worker_status import TokenRefusal
from bot.notify.subscription_list import render_subscriptions
from bot.query import Query
from bot.render.detail import render_detail
from bot.render.help import render_help
from bot.render.home_view import HomeData, home_blocks
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.search_results import render_loading_view
from bot.render.standup import render_standup
from bot.render.text import EMOJI, mrkdwn_to_text, render_text
from tests.render.support import GROUPS, NOW, detail, fresh, release

SHORTCODE = re.compile(r"(?<![\w:]):[a-z][a-z0-9_+-]*:(?![\w:])")
NOT_EMOJI = {":memory:"}  # SQLite's in-memory database, not a shortcode


def _shortcodes_in_source() -> set[str]:
    found: set[str] = set()
    for path in Path(bot.__file__).parent.rglob("*.py"):
        found |= set(SHORTCODE.findall(path.read_text(encoding="utf-8")))
    return found - NOT_EMOJI


def test_every_shortcode_in_the_code_has_one_unicode_emoji() -> None:
    used = _shortcodes_in_source()
    assert ":hourglass_flowing_sand:" in used  # the scan does find them
    assert sorted(used - EMOJI.keys()) == []
    for code in used:
        assert not SHORTCODE.search(mrkdwn_to_text(f"{code} x"))


def test_a_shortcode_typed_by_someone_else_is_left_alone() -> None:
    assert mrkdwn_to_text(":partyparrot: 10:30:00") == ":partyparrot: 10:30:00"


def _subscriptions() -> Message:
    base = Subscription(
        1, "T1", "C1", "change", "group:DWH_GROUP", None, None, None, "U1", NOW
    )
    digest = Subscription(
        2, "T1", "C1", "digest", "open", "weekdays 09:00", "UTC", None, "U1", NOW,
        paused_reason="channel_not_found", paused_at=NOW,
    )
    trouble = DeliveryTrouble(
        failed=(FailedDelivery(7, 1, 21, "closed", 5, "channel_not_found", NOW),),
        token_refused=TokenRefusal("token_revoked", NOW),
    )
    return render_subscriptions([base, digest], NOW, trouble=trouble_blocks(trouble))


def _kinds() -> dict[str, Message]:
    overdue = release(1, days=(-9, -1))
    hotfix = release(2, hotfix_of_id=1, days=(-1, 2))
    soon = release(3, days=(-1, 3))
    closed = release(4, closed=True, days=(-9, -2))
    deleted = release(5, deleted=True)
    everything = (overdue, hotfix, soon, closed, deleted)
    result = FindResult(Query(status="all", deleted="yes"), everything, GROUPS, fresh())
    before = release(6, days=(-3, 4))
    after = release(6, name="R6b", days=(-3, 9), closed=True)
    events = [
        ChangeEvent("created", before),
        ChangeEvent("renamed", after, before, {"old_name": before.name}),
        ChangeEvent("dates_changed", after, before),
        ChangeEvent("closed", after, before),
        ChangeEvent("reopened", before, after),
        ChangeEvent("restored", before, after),
        ChangeEvent("deleted", after, before, {"reason": "vanished"}),
    ]
    kinds = {
        "list": render_list(result, NOW),
        "detail": render_detail(detail(hotfix), NOW),
        "standup": render_standup(result, NOW),
        "help": render_help(),
        "subscriptions": _subscriptions(),
        "app home": Message(text="", blocks=home_blocks(HomeData(releases=result), NOW)),
        "loading": Message(text="", blocks=tuple(render_loading_view("R1")["blocks"])),
    }
    for number, event in enumerate(events):
        kinds[f"notification {event.kind}"] = render_change(event, now=NOW)
        kinds[f"parent {number}"] = render_parent(
            event, group_name="DWH_GROUP", mention=None, now=NOW + timedelta(hours=1)
        )
    return kinds


@pytest.mark.parametrize("kind", sorted(_kinds()))
def test_no_shortcode_is_left_in_any_message_kind(kind: str) -> None:
    text = render_text(_kinds()[kind]).text
    assert SHORTCODE.findall(text) == [], text
