"""What each kind of user may do: members everything, guests look-ups, users of another
organisation only what is already in the channel.

A table rather than checks spread over the entry points, so one place says (and one test
shows) who may do what. The entry points name the action; `Gate` (bot/app/gate.py) finds the
caller's audience and asks here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Action = Literal[
    "help",  # usage text
    "page",  # Prev/Next of a list already posted in the channel
    "detail",  # the card of a release already shown in the channel (its Details button)
    "lookup",  # a command, the message shortcut or `following`: reads what MetaKraftwerk has
    "search",  # the search form
    "share",  # "Share in channel": posts for everyone in the channel
    "follow",  # follow and unfollow releases by direct message
    "subscribe",  # subscribe, digest: new posts into the channel
    "unsubscribe",  # unsubscribe, the Remove button
    "list_subscriptions",  # `/releases subscriptions`: the channel's own list
    "admin",  # App Home's settings, allowing a shared channel
]
Audience = Literal["member", "guest", "external"]

_EVERYONE: frozenset[Audience] = frozenset({"member", "guest", "external"})
_INSIDE: frozenset[Audience] = frozenset({"member", "guest"})
_MEMBERS: frozenset[Audience] = frozenset({"member"})

ALLOWED: Mapping[Action, frozenset[Audience]] = {
    "help": _EVERYONE,
    "page": _EVERYONE,
    "detail": _EVERYONE,
    "lookup": _INSIDE,
    "search": _INSIDE,
    "list_subscriptions": _INSIDE,
    "share": _MEMBERS,
    "follow": _MEMBERS,
    "subscribe": _MEMBERS,
    "unsubscribe": _MEMBERS,
    "admin": _MEMBERS,
}

# Actions a guest may not take: only these need the users.info look-up, and when it fails
# they are refused (closed); the rest stay open.
PRIVILEGED: frozenset[Action] = frozenset(a for a, who in ALLOWED.items() if "guest" not in who)

EXTERNAL_REFUSAL = (
    "This app answers members of this workspace only: you can page through and open what is "
    "already posted here, nothing more."
)
GUEST_REFUSAL = (
    "Guests can look releases up, but not subscribe channels, set up digests, follow "
    "releases, share answers or change settings."
)
# What posts into the channel for everyone: refused in a channel shared with other
# organisations unless an admin allowed it there.
POSTS_HERE: frozenset[Action] = frozenset({"subscribe", "share"})
SHARED_CHANNEL_REFUSAL = (
    "This channel is shared with other organisations, so release news is not posted here "
    "unless an admin allows it with `/releases allow-shared-channel`."
)
UNKNOWN_REFUSAL = (
    "I could not check your Slack account just now, so nothing was changed; please try "
    "again in a minute."
)


def allowed(action: Action, audience: Audience) -> bool:
    return audience in ALLOWED[action]


def refusal(action: Action, audience: Audience | None) -> str | None:
    """The one line that refuses `action` to `audience` (None: not known), or None."""
    if audience is None:
        return UNKNOWN_REFUSAL if action in PRIVILEGED else None
    if allowed(action, audience):
        return None
    return EXTERNAL_REFUSAL if audience == "external" else GUEST_REFUSAL
