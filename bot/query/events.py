"""The kinds of change a subscription can be narrowed to: `events:closed,reopened,dates`.

The words are the user's vocabulary; `bot.notify` maps its change kinds onto them. A stored
subscription keeps `events_text()`, which `parse_events` reads back to the same tuple, always in
`EVENT_KINDS` order, so equal selections compare equal however they were typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.query.errors import QueryError, echo

EVENT_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "created": "a release appears",
        "reopened": "a closed release opens again",
        "restored": "a deleted release comes back",
        "closed": "a release closes",
        "dates": "its start or end date changes",
        "renamed": "it is renamed",
        "deleted": "it is deleted",
    }
)
# Other words people type for the same kinds; `opened` is everything that makes a release open.
ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "new": ("created",),
        "create": ("created",),
        "opened": ("created", "reopened", "restored"),
        "reopen": ("reopened",),
        "close": ("closed",),
        "date": ("dates",),
        "dates_changed": ("dates",),
        "rename": ("renamed",),
        "delete": ("deleted",),
        "restore": ("restored",),
    }
)
_EVERYTHING = frozenset({"all", "everything", "any"})
EXAMPLE = "`/releases subscribe group:DWH_GROUP events:closed,reopened,dates`"


def parse_events(value: str, raw: str | None = None) -> tuple[str, ...]:
    """`closed, Dates` -> ("closed", "dates"); `all` -> () meaning every kind.

    Raises QueryError naming the unknown words and listing the valid ones.
    """
    words = [w.strip().lower() for w in value.replace(";", ",").split(",")]
    words = [w for w in words if w]
    if not words:
        raise QueryError(
            f"`events:` needs at least one kind: {valid_kinds()}. E.g. {EXAMPLE}.", raw
        )
    if any(w in _EVERYTHING for w in words):
        if len(words) > 1:
            raise QueryError(
                "`events:all` means every kind of change; give it alone or list kinds.", raw
            )
        return ()
    chosen: set[str] = set()
    unknown: list[str] = []
    for word in words:
        if word in EVENT_KINDS:
            chosen.add(word)
        elif word in ALIASES:
            chosen.update(ALIASES[word])
        elif word not in unknown:
            unknown.append(word)
    if unknown:
        named = ", ".join(echo(w, 30) for w in unknown[:5])
        what = "a kind of change" if len(unknown) == 1 else "kinds of change"
        raise QueryError(
            f"{named}: I don't know {'that as' if len(unknown) == 1 else 'those as'} {what}. "
            f"`events:` takes a comma list of {valid_kinds()}, e.g. {EXAMPLE}.",
            raw,
        )
    if chosen == set(EVENT_KINDS):
        return ()
    return tuple(kind for kind in EVENT_KINDS if kind in chosen)


def events_text(events: tuple[str, ...]) -> str:
    """The stored and shown form: `closed,reopened,dates` (empty for every kind)."""
    return ",".join(kind for kind in EVENT_KINDS if kind in events)


def valid_kinds() -> str:
    return ", ".join(f"`{kind}`" for kind in EVENT_KINDS) + " (or `opened` for the first three)"
