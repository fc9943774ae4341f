"""Identifiers and button values of every interactive element the app renders.

A click on an ephemeral message reaches the app WITHOUT the original message, so whatever a
listener needs to answer the click travels in the button's `value` (at most 2000 characters).

Action ids (a message may carry several buttons of one kind, and Slack wants action ids unique
within a message, so a base id may get `:suffix` parts; decoders accept both forms):

| base action id        | value                                                         |
|-----------------------|---------------------------------------------------------------|
| `releases_page`       | JSON `{"v":1,"q":"<Query.to_text()>","p":<page>}`             |
| `release_detail`      | the release id in decimal, e.g. `21`                          |
| `release_related`     | the release id in decimal (previous, hotfix parent, hotfix)   |
| `share_in_channel`    | JSON `{"v":1,"k":"list","q":"<query text>","p":<page>}`,      |
|                       | `{"v":1,"k":"standup","q":"<query text>"}` or                 |
|                       | `{"v":1,"k":"detail","id":<release id>}`                      |
| `open_search`         | JSON `{"v":1,"q":"<text to prefill the search form with>"}`   |
| `subscription_remove` | the subscription id in decimal, e.g. `7`                      |
| `release_follow`      | the release id in decimal: follow it (direct messages)        |
| `release_unfollow`    | the release id in decimal: stop following it                  |

`ACTION_ID_PATTERN` matches every one of them with or without suffixes; one Bolt listener
(`app.action(re.compile(ACTION_ID_PATTERN))`) can take all clicks and hand them to `decode`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

MAX_VALUE: Final = 2000
MAX_ACTION_ID: Final = 255

ACTION_PAGE: Final = "releases_page"
ACTION_DETAIL: Final = "release_detail"
ACTION_RELATED: Final = "release_related"
ACTION_SHARE: Final = "share_in_channel"
ACTION_OPEN_SEARCH: Final = "open_search"
ACTION_SUBSCRIPTION_REMOVE: Final = "subscription_remove"
ACTION_FOLLOW: Final = "release_follow"
ACTION_UNFOLLOW: Final = "release_unfollow"

ACTION_IDS: Final = (
    ACTION_PAGE,
    ACTION_DETAIL,
    ACTION_RELATED,
    ACTION_SHARE,
    ACTION_OPEN_SEARCH,
    ACTION_SUBSCRIPTION_REMOVE,
    ACTION_FOLLOW,
    ACTION_UNFOLLOW,
)

# Block ids of the blocks that hold buttons, so a listener can tell where a click came from.
BLOCK_LIST_NAV: Final = "releases_nav"  # list: Prev / Next / Share in channel
BLOCK_DETAIL_LINKS: Final = "release_links"  # detail: previous, parent, hotfixes, share
BLOCK_STANDUP_ACTIONS: Final = "standup_actions"  # standup: Share in channel
BLOCK_STANDUP_DETAILS: Final = "standup_details"  # `standup_details:<group>`: Details buttons
BLOCK_SHORTCUT_ACTIONS: Final = "shortcut_actions"  # shortcut: Open search / Show all
BLOCK_SUBSCRIPTION_PREFIX: Final = "subscription"  # `subscription:<id>`, one per listed row

SUFFIX_SEPARATOR: Final = ":"
_SUFFIX_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")

#: Matches every action id the app renders, base form or with `:suffix` parts.
ACTION_ID_PATTERN: Final = (
    r"^(?:" + "|".join(re.escape(a) for a in ACTION_IDS) + r")(?::[A-Za-z0-9_.-]+)*$"
)


def action_pattern(base: str) -> str:
    """A regex for one base action id with any suffixes, e.g. for `app.action(re.compile(...))`."""
    return rf"^{re.escape(base)}(?::[A-Za-z0-9_.-]+)*$"


def base_action_id(action_id: str) -> str:
    """`release_detail:21:2` -> `release_detail`."""
    return action_id.partition(SUFFIX_SEPARATOR)[0]


class ActionIds:
    """Hands out action ids unique within one message (Slack rejects duplicates in a block)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def __call__(self, base: str, *suffix: str | int) -> str:
        parts = [base]
        for part in suffix:
            cleaned = _SUFFIX_CHARS.sub("-", str(part)).strip("-")[:40]
            if cleaned:
                parts.append(cleaned)
        candidate = SUFFIX_SEPARATOR.join(parts)[:200]
        unique, n = candidate, 2
        while unique in self._used:
            unique = f"{candidate}{SUFFIX_SEPARATOR}{n}"
            n += 1
        self._used.add(unique)
        return unique


class ActionValueError(ValueError):
    """A button value that cannot be read (tampered with, or from an older app version)."""


ShareKind = Literal["list", "detail", "standup"]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Show page `page` of the list the query text describes."""

    query_text: str
    page: int


@dataclass(frozen=True, slots=True)
class ShareRequest:
    """Post the view again, in the channel, for everyone."""

    kind: ShareKind
    query_text: str | None = None  # list and standup
    release_id: int | None = None  # detail
    page: int = 1  # list


@dataclass(frozen=True, slots=True)
class ReleaseRef:
    """Show one release's details (from a Details button or a link between releases)."""

    release_id: int


@dataclass(frozen=True, slots=True)
class OpenSearch:
    """Open the search form, prefilled with `prefill`."""

    prefill: str


@dataclass(frozen=True, slots=True)
class RemoveSubscription:
    subscription_id: int


@dataclass(frozen=True, slots=True)
class FollowRequest:
    """Follow (or, with `follow` False, stop following) one release."""

    release_id: int
    follow: bool = True


ButtonAction = (
    PageRequest | ShareRequest | ReleaseRef | OpenSearch | RemoveSubscription | FollowRequest
)


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _load(value: str) -> dict[str, Any]:
    if len(value) > MAX_VALUE:
        raise ActionValueError("button value too long")
    try:
        data = json.loads(value)
    except ValueError:
        raise ActionValueError("button value is not JSON") from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise ActionValueError("unknown button value format")
    return data


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ActionValueError(f"{what} must be a positive integer")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ActionValueError(f"{what} must be text")
    return value


def _fits(value: str) -> str | None:
    return value if len(value) <= MAX_VALUE else None


def encode_page(query_text: str, page: int) -> str | None:
    """The value of a Prev/Next button, or None when the query text is too long for one."""
    return _fits(_dump({"v": 1, "q": query_text, "p": max(1, page)}))


def decode_page(value: str) -> PageRequest:
    data = _load(value)
    return PageRequest(_text(data.get("q"), "query"), _positive_int(data.get("p"), "page"))


def encode_share(request: ShareRequest) -> str | None:
    """The value of a "Share in channel" button, or None when it would not fit."""
    if request.kind == "detail":
        if request.release_id is None:
            raise ValueError("sharing a detail view needs a release id")
        return _dump({"v": 1, "k": "detail", "id": request.release_id})
    obj: dict[str, Any] = {"v": 1, "k": request.kind, "q": request.query_text or ""}
    if request.kind == "list":
        obj["p"] = max(1, request.page)
    return _fits(_dump(obj))


def decode_share(value: str) -> ShareRequest:
    data = _load(value)
    kind = data.get("k")
    if kind == "detail":
        return ShareRequest("detail", release_id=_release_id(data.get("id")))
    if kind == "standup":
        return ShareRequest("standup", query_text=_text(data.get("q"), "query"))
    if kind == "list":
        page = data.get("p", 1)
        return ShareRequest(
            "list", query_text=_text(data.get("q"), "query"), page=_positive_int(page, "page")
        )
    raise ActionValueError("unknown share kind")


def _release_id(value: object) -> int:
    if isinstance(value, bool):
        raise ActionValueError("not a release id")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lstrip("#")
        if re.fullmatch(r"-?\d{1,18}", text):
            return int(text)
    raise ActionValueError("not a release id")


def encode_release_ref(release_id: int) -> str:
    """The value of a Details or related-release button: the id in decimal."""
    return str(release_id)


def decode_release_ref(value: str) -> ReleaseRef:
    return ReleaseRef(_release_id(value))


def encode_open_search(prefill: str) -> str:
    """The value of the "Open search" button; a long prefill is cut, it is only a suggestion."""
    text = prefill
    while True:
        value = _dump({"v": 1, "q": text})
        if len(value) <= MAX_VALUE:
            return value
        text = text[: max(0, len(text) - (len(value) - MAX_VALUE) - 1)]


def decode_open_search(value: str) -> OpenSearch:
    if not value:
        return OpenSearch("")
    return OpenSearch(_text(_load(value).get("q", ""), "prefill"))


def encode_subscription_remove(subscription_id: int) -> str:
    return str(subscription_id)


def decode_subscription_remove(value: str) -> RemoveSubscription:
    text = value.strip()
    if not re.fullmatch(r"\d{1,18}", text):
        raise ActionValueError("not a subscription id")
    return RemoveSubscription(_positive_int(int(text), "subscription id"))


def decode(action_id: str, value: str) -> ButtonAction:
    """Any click of the app's buttons -> what to do; ActionValueError when it cannot be read."""
    if len(action_id) > MAX_ACTION_ID or not re.fullmatch(ACTION_ID_PATTERN, action_id):
        raise ActionValueError("unknown action")
    base = base_action_id(action_id)
    if base == ACTION_PAGE:
        return decode_page(value)
    if base in (ACTION_DETAIL, ACTION_RELATED):
        return decode_release_ref(value)
    if base == ACTION_SHARE:
        return decode_share(value)
    if base == ACTION_OPEN_SEARCH:
        return decode_open_search(value)
    if base in (ACTION_FOLLOW, ACTION_UNFOLLOW):
        return FollowRequest(decode_release_ref(value).release_id, follow=base == ACTION_FOLLOW)
    return decode_subscription_remove(value)
