"""The answer to the message shortcut "Find releases in this message".

It shows what the message mentions (releases by id or name, then what its filter tokens
match), says which ids and names were not found, and when nothing at all turned up explains
what it looked for and offers a button that opens the search form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.app.finder import FindResult, Freshness
from bot.i18n import ENGLISH, Texts
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import cut_mrkdwn, fit_blocks, fit_text
from bot.render.listing import describe_filters, query_text, release_section
from bot.render.message import Message

MAX_SHOWN = 10


@dataclass(frozen=True, slots=True)
class ShortcutFindings:
    """What the shortcut found in a message, ready to render."""

    releases: tuple[Release, ...] = ()  # mentioned by id or name, in message order
    missing_ids: tuple[int, ...] = ()  # ids mentioned that name no release
    missing_names: tuple[str, ...] = ()  # names that looked like releases but are not
    search: FindResult | None = None  # what the filter tokens in the message match
    group_names: Mapping[int, str] = field(default_factory=dict)
    freshness: Freshness | None = None
    prefill: str = ""  # text to prefill the search form with when nothing was found
    related: Mapping[int, Release] = field(default_factory=dict)  # releases they point to


def _missing_note(findings: ShortcutFindings, t: Texts) -> str:
    notes: list[str] = []
    if findings.missing_ids:
        ids = ", ".join(f"#{i}" for i in findings.missing_ids[:20])
        more = len(findings.missing_ids) - 20
        note = t._("No release with id {ids}", ids=ids)
        notes.append(note + (t._(" and {count} more", count=more) if more > 0 else ""))
    if findings.missing_names:
        names = ", ".join(escape_truncated(n, 40) for n in findings.missing_names[:10])
        notes.append(t._("no release named {names}", names=cut_mrkdwn(names, 400)))
    text = "; ".join(notes)
    return text[:1].upper() + text[1:] + "." if text else ""


def render_shortcut_result(
    findings: ShortcutFindings, now: datetime, *, link: str | None = None, t: Texts = ENGLISH
) -> Message:
    """Releases the message mentions, with Details buttons; or why none, and a search button."""
    ids = act.ActionIds()
    group_names = dict(findings.group_names)
    if findings.search is not None:
        group_names = {**findings.search.group_names, **group_names}
    listed: list[Release] = []
    seen: set[int] = set()
    for release in findings.releases:
        if release.id not in seen:
            seen.add(release.id)
            listed.append(release)
    matches = [r for r in (findings.search.releases if findings.search else ()) if r.id not in seen]
    freshness = findings.freshness or (findings.search.freshness if findings.search else None)
    missing = _missing_note(findings, t)

    if not listed and not matches:
        return _nothing_found(findings, missing, ids, t)

    total = len(listed) + len(matches)
    shown = (listed + matches)[:MAX_SHOWN]
    related = findings.search.related if findings.search else {}
    known = {**related, **findings.related, **{r.id: r for r in (*listed, *matches)}}
    heading = t._("Releases in this message")
    blocks: list[dict[str, Any]] = [parts.header(f"{heading} · {total}")]
    stale = parts.stale_block(freshness, now, t)
    if stale:
        blocks.append(stale)
    for release in shown:
        blocks.append(
            release_section(
                release,
                group_names=group_names,
                known=known,
                now=now,
                action_id=ids(act.ACTION_DETAIL, release.id),
                link=link,
                t=t,
            )
        )
    notes: list[str] = []
    if missing:
        notes.append(missing)
    if findings.search is not None:
        count = len(findings.search.releases)
        notes.append(t._(
            "Filters found: {filters} ({matches})",
            filters=describe_filters(findings.search.query, t),
            matches=t.ngettext("{count} match", "{count} matches", count),
        ))
    if total > len(shown):
        notes.append(t._("{count} more not shown", count=total - len(shown)))
    notes.append(parts.freshness_text(freshness, now, t))
    blocks.append(parts.context(*notes))

    buttons: list[dict[str, Any]] = []
    if findings.search is not None and len(matches) > MAX_SHOWN - len(listed):
        value = act.encode_page(query_text(findings.search.query), 1)
        if value is not None:
            buttons.append(
                parts.button(
                    t._("Show all {count} matches", count=len(findings.search.releases)),
                    ids(act.ACTION_PAGE, "all"),
                    value,
                )
            )
    if buttons:
        blocks.append(parts.actions(act.BLOCK_SHORTCUT_ACTIONS, buttons))

    fallback = f"{heading}: " + ", ".join(
        parts.plain_summary(r, group_names, t) for r in shown
    )
    if missing:
        fallback += f". {missing}"
    return Message(
        text=fit_text(fallback),
        blocks=fit_blocks(blocks),
        meta={"view": "shortcut", "total": total},
    )


def _nothing_found(
    findings: ShortcutFindings, missing: str, ids: act.ActionIds, t: Texts
) -> Message:
    lines = []
    if missing:
        lines.append(missing)
    if findings.search is not None:
        filters = describe_filters(findings.search.query, t)
        lines.append(t._("Nothing matched *{filters}*.", filters=filters))
    none_found = t._("I found no releases in this message.")
    if not lines:
        lines.append(none_found)
    lines.append(t._(
        "I look for release ids (`#21`, `release 21`), filters (`group:DWH_GROUP`) and the "
        "names of known releases (`R59`). Search by hand instead?"
    ))
    button = parts.button(
        t._("Open search"),
        ids(act.ACTION_OPEN_SEARCH),
        act.encode_open_search(findings.prefill),
        style="primary",
    )
    blocks = [
        parts.section("\n".join(lines)),
        parts.actions(act.BLOCK_SHORTCUT_ACTIONS, [button]),
    ]
    return Message(
        text=fit_text(" ".join(lines[:-1]) or none_found),
        blocks=fit_blocks(blocks),
        meta={"view": "shortcut", "total": 0},
    )
