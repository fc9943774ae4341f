"""Small builders every view shares: text objects, buttons, dates, status, one-line summaries.

Conventions: functions taking foreign text (release names, descriptions, group names, user
input) escape it themselves; functions taking `*_mrkdwn` arguments expect text that is already
safe. Every mrkdwn object is `verbatim`, so Slack never auto-links or auto-mentions inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.app.finder import Freshness
from bot.i18n import ENGLISH, Texts
from bot.metakraftwerk.models import Release
from bot.metakraftwerk.models import utc as utc  # the views call it parts.utc
from bot.mrkdwn import escape_truncated, inline_truncated
from bot.query import USER_ID
from bot.render.block_limits import MAX_BUTTON_TEXT, MAX_HEADER_TEXT, cut_mrkdwn

Block = dict[str, Any]

NAME_LIMIT = 100  # a release name inside a summary line
GROUP_LIMIT = 60  # a group name inside a summary line

EMOJI_OPEN = ":large_green_circle:"
EMOJI_NOT_STARTED = ":white_circle:"  # open, but its start date is still ahead
EMOJI_OVERDUE = ":red_circle:"
EMOJI_CLOSED = ":lock:"
EMOJI_DELETED = ":wastebasket:"
EMOJI_HOTFIX = ":adhesive_bandage:"
EMOJI_WARNING = ":warning:"

DATE_AND_TIME = "{date_short_pretty} {time}"
DATE_ONLY = "{date_short_pretty}"



def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def header(text_escaped: str) -> Block:
    return {"type": "header", "text": plain(cut_mrkdwn(text_escaped, MAX_HEADER_TEXT))}


def section(text_mrkdwn: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text_mrkdwn)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def fields_section(fields_mrkdwn: list[str]) -> Block:
    return {"type": "section", "fields": [mrkdwn(f) for f in fields_mrkdwn]}


def context(*texts_mrkdwn: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts_mrkdwn if t][:10]}


def divider() -> Block:
    return {"type": "divider"}


def actions(block_id: str, elements: list[dict[str, Any]]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": elements}


def button(
    label_escaped: str, action_id: str, value: str, *, style: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(cut_mrkdwn(label_escaped, MAX_BUTTON_TEXT)),
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        element["style"] = style
    return element


def name_label(name: str, limit: int = NAME_LIMIT) -> str:
    """A foreign name, escaped, on one line and formatting nothing (see `inline`), cut."""
    return inline_truncated(name, limit)


def release_url(release_id: int, link: str | None) -> str | None:
    """The release's page in MetaKraftwerk from a `{id}` template (checked by the settings)."""
    return link.replace("{id}", str(int(release_id))) if link else None


def release_name(release: Release, link: str | None = None, limit: int = NAME_LIMIT) -> str:
    """`*R59*`, or `*<url|R59>*` with a link template: the name as a row starts with it."""
    label = name_label(release.name, limit)
    url = release_url(release.id, link)
    return bold(label) if url is None else f"*<{url}|{label}>*"


def bold(text_escaped: str) -> str:
    """Bold in mrkdwn; text with its own `*` stays plain, as Slack would mangle nested stars."""
    return text_escaped if "*" in text_escaped else f"*{text_escaped}*"


def group_label(
    group_id: int | None, group_names: Mapping[int, str], t: Texts = ENGLISH
) -> str:
    """The group's name when known, else `group <id>`; escaped."""
    if group_id is None:
        return t._("no group")
    name = group_names.get(group_id)
    if name:
        return inline_truncated(name, GROUP_LIMIT)
    return t._("group {id}", id=group_id)


def cut_group_list(groups_escaped: list[str], limit: int = 80) -> str:
    """Several group names for a title: `A, B, C`, cut to fit."""
    return cut_mrkdwn(", ".join(groups_escaped), limit)


def date_fallback(value: datetime, t: Texts = ENGLISH) -> str:
    """A time as text in UTC, where Slack's date token cannot show it (the fallback)."""
    return t.date_time_utc(utc(value))


@lru_cache(maxsize=4096)
def date_token(value: datetime, fmt: str = DATE_AND_TIME, t: Texts = ENGLISH) -> str:
    """`<!date^...>`: Slack shows it in each reader's own time zone (and language); the
    fallback is UTC in the reader's language.

    Cached: the same few dates are formatted for every list, and formatting is not free.
    """
    try:
        stamp = int(utc(value).timestamp())
    except (OverflowError, ValueError, OSError):
        return date_fallback(value, t)
    return f"<!date^{stamp}^{fmt}|{date_fallback(value, t)}>"


def is_overdue(release: Release, now: datetime) -> bool:
    return release.is_open and release.end_date is not None and utc(release.end_date) < utc(now)


def is_not_started(release: Release, now: datetime) -> bool:
    """Open, not overdue, and its start date still ahead (the standup's "Not started yet")."""
    return (
        release.is_open
        and not is_overdue(release, now)
        and release.start_date is not None
        and utc(release.start_date) > utc(now)
    )


def status_emoji(release: Release, now: datetime) -> str:
    if release.deleted:
        return EMOJI_DELETED
    if release.closed:
        return EMOJI_CLOSED
    if is_overdue(release, now):
        return EMOJI_OVERDUE
    return EMOJI_NOT_STARTED if is_not_started(release, now) else EMOJI_OPEN


def status_word(release: Release, now: datetime, t: Texts = ENGLISH) -> str:
    words = [t._("Closed") if release.closed else t._("Open")]
    if is_overdue(release, now):
        words.append(t._("overdue"))
    elif is_not_started(release, now):
        words.append(t._("not started yet"))
    if release.deleted:
        words.append(t._("deleted"))
    return ", ".join(words)


def date_range(release: Release, fmt: str = DATE_ONLY, t: Texts = ENGLISH) -> str:
    start, end = release.start_date, release.end_date
    if start is not None and end is not None:
        return f"{date_token(start, fmt, t)} → {date_token(end, fmt, t)}"
    if start is not None:
        return t._("from {date}, no end date", date=date_token(start, fmt, t))
    if end is not None:
        return t._("until {date}, no start date", date=date_token(end, fmt, t))
    return t._("no dates")


def release_ref(release_id: int, known: Mapping[int, Release]) -> str:
    """Another release by name when it is at hand, else by `#id`; escaped."""
    other = known.get(release_id)
    return name_label(other.name, 60) if other is not None else f"#{release_id}"


def hints(
    release: Release, known: Mapping[int, Release], now: datetime, t: Texts = ENGLISH
) -> list[str]:
    """The short notes after a release: hotfix of, builds on, overdue, deleted."""
    out: list[str] = []
    if release.hotfix_of_id is not None:
        parent = release_ref(release.hotfix_of_id, known)
        out.append(f"{EMOJI_HOTFIX} " + t._("hotfix of {release}", release=parent))
    if release.prev_release_id is not None and release.prev_release_id != release.hotfix_of_id:
        out.append(t._("after {release}", release=release_ref(release.prev_release_id, known)))
    if is_overdue(release, now):
        out.append(t._("overdue"))
    if release.deleted:
        out.append(t._("deleted"))
    return out


def summary_line(
    release: Release,
    *,
    group_names: Mapping[int, str],
    known: Mapping[int, Release],
    now: datetime,
    when: str | None = None,
    show_group: bool = True,
    link: str | None = None,
    t: Texts = ENGLISH,
) -> str:
    """`🟢 *R59* #158 · DWH_GROUP · Jan 2 → Jan 8 · hotfix of R58`: one release on one line."""
    parts = [f"{status_emoji(release, now)} {release_name(release, link)} #{release.id}"]
    if show_group:
        parts.append(group_label(release.group_id, group_names, t))
    parts.append(when if when is not None else date_range(release, t=t))
    parts.extend(hints(release, known, now, t))
    return " · ".join(parts)


def plain_summary(release: Release, group_names: Mapping[int, str], t: Texts = ENGLISH) -> str:
    """The release for the notification fallback text: name and group, escaped."""
    group = group_label(release.group_id, group_names, t)
    return f"{name_label(release.name, 60)} ({group})"


def age_text(fetched_at: datetime, now: datetime, t: Texts = ENGLISH) -> str:
    """How old data is, in words a reader takes in at a glance: `2 min ago`, `vor 2 Minuten`."""
    seconds = (utc(now) - utc(fetched_at)).total_seconds()
    if seconds < 45:
        return t._("just now")
    if not t.english:
        return t.relative(utc(fetched_at) - utc(now))
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(1, minutes)} min ago"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} h ago"
    return f"{round(seconds / 86400)} days ago"


def relative_text(value: datetime, now: datetime, t: Texts = ENGLISH) -> str:
    """`in 3 days`, `5 h ago`, `in 3 Tagen`: how far a date is from now, roughly."""
    seconds = (utc(value) - utc(now)).total_seconds()
    size = abs(seconds)
    if size < 3600:
        return t._("now")
    if not t.english:
        return t.relative(utc(value) - utc(now), threshold=1.5)
    amount = f"{round(size / 3600)} h" if size < 36 * 3600 else f"{round(size / 86400)} days"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def freshness_text(freshness: Freshness | None, now: datetime, t: Texts = ENGLISH) -> str:
    if freshness is None:
        return ""
    return t._("data from {age}", age=age_text(freshness.fetched_at, now, t))


def stale_block(freshness: Freshness | None, now: datetime, t: Texts = ENGLISH) -> Block | None:
    """A visible warning when the answer comes from the cache because the API failed."""
    if freshness is None or not freshness.stale:
        return None
    if freshness.reason:
        reason = escape_truncated(t._(freshness.reason), 300)
    else:
        reason = t._("MetaKraftwerk failed")
    reason = reason.rstrip(".")
    age = age_text(freshness.fetched_at, now, t)
    return context(f"{EMOJI_WARNING} " + t._("{reason}; showing data from {age}.", reason=reason,
                                             age=age))


def shared_by_text(user_id: str | None, t: Texts = ENGLISH) -> str:
    """`Shared by <@U123>` for a Slack user id; anything that is not one is left out."""
    if user_id and USER_ID.fullmatch(user_id):
        return t._("Shared by {user}", user=f"<@{user_id}>")
    return ""


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"
