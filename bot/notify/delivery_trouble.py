"""Why a channel went quiet, for `/releases subscriptions`: the notifications delivery gave
up on (with Slack's reason) and a bot token Slack refused, which stops every channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.i18n import ENGLISH, Texts
from bot.mrkdwn import escape_truncated
from bot.notify.records import FailedDelivery
from bot.notify.store import Store
from bot.notify.store.worker_status import TokenRefusal
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn

MAX_FAILED_SHOWN = 5


@dataclass(frozen=True, slots=True)
class DeliveryTrouble:
    failed: tuple[FailedDelivery, ...] = ()
    token_refused: TokenRefusal | None = None


def read_trouble(store: Store, team_id: str, channel_id: str) -> DeliveryTrouble:
    return DeliveryTrouble(
        failed=tuple(store.outbox.failed_deliveries(team_id, channel_id, MAX_FAILED_SHOWN + 1)),
        token_refused=store.worker_status.token_refused(),
    )


def trouble_blocks(trouble: DeliveryTrouble, t: Texts = ENGLISH) -> list[dict[str, Any]]:
    """Sections that say what is wrong, or none when nothing is."""
    blocks: list[dict[str, Any]] = []
    refusal = trouble.token_refused
    if refusal is not None:
        blocks.append(parts.section(":no_entry: " + t._(
            "*The bot stopped posting* since {since}: Slack refused its token (`{error}`), so "
            "no channel gets notifications. Whoever runs this app must check SLACK_BOT_TOKEN "
            "and the app's installation; nothing is lost, the notifications wait.",
            since=parts.date_token(refusal.since, parts.DATE_AND_TIME, t),
            error=escape_truncated(refusal.error, 60),
        )))
    if trouble.failed:
        shown = trouble.failed[:MAX_FAILED_SHOWN]
        title = (t._("*Notifications that could not be posted here* (the newest shown):")
                 if len(trouble.failed) > len(shown)
                 else t._("*Notifications that could not be posted here*:"))
        lines = [f":warning: {title}"]
        lines += [_failed_line(row, t) for row in shown]
        blocks.append(parts.section(cut_mrkdwn("\n".join(lines), MAX_SECTION_TEXT)))
    return blocks


def _failed_line(row: FailedDelivery, t: Texts) -> str:
    what = t._("a digest") if row.kind == "digest" else escape_truncated(row.kind, 40)
    if row.release_id is not None:
        what = t._("{what} of release {id}", what=what, id=row.release_id)
    reason = escape_truncated(row.last_error or t._("no reason recorded"), 200)
    tries = t.ngettext("{count} attempt", "{count} attempts", row.attempts)
    return "• " + t._(
        "{what} (subscription #{id}), {when}, {tries}: {reason}", what=what,
        id=row.subscription_id, when=parts.date_token(row.created_at, parts.DATE_AND_TIME, t),
        tries=tries, reason=reason,
    )
