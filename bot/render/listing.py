"""The list view: a page of matching releases, the filters applied, and paging buttons.

Paging happens here, not in the finder: the finder returns every match and the page number
travels in the buttons, so a click re-runs the (cached) query and renders another page.
Page sizes depend on the query only, never on the data, so "page 3" means the same releases
for every click; long data is cut instead, which the sizes below leave room for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.app.finder import FindResult
from bot.i18n import ENGLISH, N_, Texts
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape, escape_truncated
from bot.query import Query
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import fit_blocks, fit_text
from bot.render.message import Message

DEFAULT_PAGE_SIZE = 10
DEFAULT_FULL_PAGE_SIZE = 5
MAX_PAGE_SIZE = 15  # worst case ~520 chars a release: 15 fit the 10k budget with room to spare
MAX_FULL_PAGE_SIZE = 8  # plus a description excerpt
EXCERPT_LIMIT = 400
DESCRIBE_LIMIT = 600

_STATUS_TITLES = {
    "open": N_("Open releases"), "closed": N_("Closed releases"), "all": N_("Releases")
}


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of the matches one message shows."""

    number: int  # 1-based, clamped to [1, count]
    count: int  # at least 1, also for an empty result
    size: int
    start: int
    end: int


def paginate(total: int, page: int, size: int) -> Page:
    """Clamp the page into range: page 0 is the first, a page beyond the last is the last."""
    size = max(1, size)
    count = max(1, math.ceil(total / size))
    number = min(max(1, page), count)
    start = (number - 1) * size
    return Page(number, count, size, start, min(total, start + size))


def page_size_for(query: Query, requested: int | None = None) -> int:
    """The page size for a query's format, capped so a page always fits Slack's limits."""
    full = query.format == "full"
    if requested is None:
        return DEFAULT_FULL_PAGE_SIZE if full else DEFAULT_PAGE_SIZE
    return max(1, min(requested, MAX_FULL_PAGE_SIZE if full else MAX_PAGE_SIZE))


def list_title(query: Query, group_names: Mapping[int, str], t: Texts = ENGLISH) -> str:
    """`Open releases · DWH_GROUP`, escaped, without the count."""
    title = t._(_STATUS_TITLES.get(query.status, _STATUS_TITLES["all"]))
    if query.deleted == "only":
        title = t._("Deleted releases")
    groups = [escape(canonical_group(g, group_names)) for g in query.groups]
    groups += [parts.group_label(g, group_names, t) for g in query.group_ids]
    if groups:
        title += " · " + parts.cut_group_list(groups)
    return title


def canonical_group(typed: str, group_names: Mapping[int, str]) -> str:
    """The group's name as MetaKraftwerk spells it when only the case differs from `typed`."""
    folded = typed.casefold()
    return next((n for n in group_names.values() if n.casefold() == folded), typed)


def describe_filters(query: Query, t: Texts = ENGLISH) -> str:
    """The filters the answer applied, restated for the reader (escaped)."""
    return escape_truncated(query.describe(t), DESCRIBE_LIMIT)


def query_text(query: Query) -> str:
    """The canonical text buttons carry to re-run the query (page travels separately).

    `refresh` stays out: it skipped the cache for this answer, clicks read from the cache.
    """
    return replace(query, page=1, refresh=False).to_text()


def excerpt(description: str | None, limit: int = EXCERPT_LIMIT) -> str:
    """A description on one line, escaped and cut: enough to recognise a release."""
    if not description or not description.strip():
        return ""
    return escape_truncated(re.sub(r"\s+", " ", description).strip(), limit)


def release_section(
    release: Release,
    *,
    group_names: Mapping[int, str],
    known: Mapping[int, Release],
    now: datetime,
    action_id: str,
    full: bool = False,
    link: str | None = None,
    t: Texts = ENGLISH,
) -> dict[str, Any]:
    """One release: a summary line, in `full` format its description, and a Details button."""
    text = parts.summary_line(
        release, group_names=group_names, known=known, now=now, link=link, t=t
    )
    if full:
        text += "\n" + (excerpt(release.description) or t._("_No description._"))
    details = parts.button(t._("Details"), action_id, act.encode_release_ref(release.id))
    return parts.section(text, details)


def empty_hint(query: Query, t: Texts = ENGLISH) -> str:
    """What to try when nothing matched."""
    if query.status != "all":
        other = escape_truncated(replace(query, status="all", page=1).to_text(), 300)
        if query.status == "open":
            return t._(
                "Try `/releases {query}` to include closed releases, "
                "or see `/releases help filters`.", query=other
            )
        return t._(
            "Try `/releases {query}` to include open releases, "
            "or see `/releases help filters`.", query=other
        )
    return t._(
        "Check the spelling of names and groups; `*` and `?` match any characters "
        "(`name:R5*`). See `/releases help filters`."
    )


def render_list(
    result: FindResult,
    now: datetime,
    page_size: int | None = None,
    *,
    shared_by: str | None = None,
    link: str | None = None,
    unpaged: bool = False,
    t: Texts = ENGLISH,
) -> Message:
    """A page of `result` (the page the query asks for, clamped) as a Slack message.

    `shared_by` (a Slack user id) renders the copy posted by "Share in channel": in the
    channel, for everyone, without paging or share buttons. `link` is the template that
    links release names to MetaKraftwerk (METAKRAFTWERK_WEB_URL). `unpaged` is for text
    that nobody can page (the Workflow Builder step): no buttons and no page numbers; when
    not every release fits, the note says which are shown ("15 of 16 shown").
    """
    query = result.query
    releases = result.releases
    total = len(releases)
    full = query.format == "full"
    size = page_size_for(query, page_size)
    page = paginate(total, query.page, size)
    shared = shared_by is not None
    title = list_title(query, result.group_names, t)
    known = result.known()
    ids = act.ActionIds()

    blocks: list[dict[str, Any]] = [parts.header(f"{title} · {total}")]
    stale = parts.stale_block(result.freshness, now, t)
    if stale:
        blocks.append(stale)

    shown = releases[page.start : page.end]
    if not shown:
        nothing = t._("Nothing matched *{filters}*.", filters=describe_filters(query, t))
        blocks.append(parts.section(f"{nothing}\n{empty_hint(query, t)}"))
    for release in shown:
        blocks.append(
            release_section(
                release,
                group_names=result.group_names,
                known=known,
                now=now,
                action_id=ids(act.ACTION_DETAIL, release.id),
                full=full,
                link=link,
                t=t,
            )
        )

    notes = [
        t._("Filters: {filters}", filters=describe_filters(query, t)),
        t.ngettext("{count} release", "{count} releases", total),
    ]
    if unpaged and len(shown) < total and shown:
        first = "" if page.start == 0 else f"{page.start + 1}-{page.end}, "
        notes.append(first + t._("{shown} of {total} shown", shown=len(shown), total=total))
    elif page.count > 1:
        notes.append(t._("page {page} of {pages}", page=page.number, pages=page.count))
    if shown and query.page > page.count and not unpaged:
        notes.append(t._(
            "Page {asked} is past the end: this is the last page, {page} of {pages}",
            asked=query.page, page=page.number, pages=page.count,
        ))
    notes.append(parts.freshness_text(result.freshness, now, t))
    notes.append(parts.shared_by_text(shared_by, t))
    buttons: list[dict[str, Any]] = []
    if not shared and not unpaged:
        text = query_text(query)
        if not shown:
            search = act.encode_open_search(text)
            buttons.append(parts.button(t._("Search"), ids(act.ACTION_OPEN_SEARCH), search))
        if page.count > 1:
            prev_value = act.encode_page(text, page.number - 1)
            next_value = act.encode_page(text, page.number + 1)
            if prev_value is None or next_value is None:
                notes.append(t._(
                    "_The filters are too long for paging buttons: add `page:2` (and so on) "
                    "to the command to see more._"
                ))
            else:
                if page.number > 1:
                    prev = parts.button(t._("‹ Prev"), ids(act.ACTION_PAGE, "prev"), prev_value)
                    buttons.append(prev)
                if page.number < page.count:
                    after = parts.button(t._("Next ›"), ids(act.ACTION_PAGE, "next"), next_value)
                    buttons.append(after)
        if shown:
            share = act.encode_share(act.ShareRequest("list", query_text=text, page=page.number))
            if share is not None:
                label = t._("Share in channel")
                buttons.append(parts.button(label, ids(act.ACTION_SHARE), share))
    blocks.append(parts.context(*notes))
    if buttons:
        blocks.append(parts.actions(act.BLOCK_LIST_NAV, buttons))

    return Message(
        text=_fallback(title, total, page, shown, result.group_names, t),
        blocks=fit_blocks(blocks),
        meta={
            "view": "list",
            "page": page.number,
            "pages": page.count,
            "page_size": size,
            "total": total,
        },
    )


def _fallback(
    title: str,
    total: int,
    page: Page,
    shown: tuple[Release, ...],
    group_names: Mapping[int, str],
    t: Texts,
) -> str:
    text = f"{title}: {total}"
    if page.count > 1:
        text += " (" + t._("page {page} of {pages}", page=page.number, pages=page.count) + ")"
    if shown:
        text += ": " + ", ".join(parts.plain_summary(r, group_names, t) for r in shown)
    return fit_text(text)
