"""Do a subscription's groups exist? A typo must be refused, not look like a quiet channel.

A glob that matches no group today is allowed (a group may come later) but said. The closest
names are suggested the way a lookup's own unknown-key errors do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.i18n import ENGLISH, Texts
from bot.mrkdwn import escape
from bot.query import Query, closest, did_you_mean, glob_match, is_glob
from bot.query.errors import echo

MAX_SUGGESTIONS = 3


@dataclass(frozen=True, slots=True)
class GroupCheck:
    refusal: str | None = None  # the first unknown group, with the closest names
    notes: tuple[str, ...] = ()  # what the confirmation should add


def check_groups(query: Query, names: Mapping[int, str], t: Texts = ENGLISH) -> GroupCheck:
    """`names` is every group by id; empty when MetaKraftwerk could not say. The refusal
    and notes are in `t`, the language of the person subscribing."""
    if not query.groups and not query.group_ids:
        return GroupCheck()
    if not names:
        return GroupCheck(
            notes=(t._(
                "I could not check the group names now (MetaKraftwerk did not answer); "
                "`/releases subscriptions` shows the filters as stored."
            ),)
        )
    known = sorted(set(names.values()), key=str.casefold)
    folded = {n.casefold() for n in known}
    notes: list[str] = []
    for group in query.groups:
        if is_glob(group):
            if not any(glob_match(group, n) for n in known):
                notes.append(t._("{group} matches no release group today.", group=echo(group)))
        elif group.casefold() not in folded:
            refusal = t._("There is no release group {group}.", group=echo(group)) + _suggest(
                closest([group], known, n=MAX_SUGGESTIONS), t
            )
            return GroupCheck(refusal=refusal)
    for group_id in query.group_ids:
        if group_id not in names:
            return GroupCheck(refusal=t._("There is no release group with id {id}.",
                                          id=group_id))
    return GroupCheck(notes=tuple(notes))



def _suggest(names: list[str], t: Texts) -> str:
    """` Did you mean `A` or `B`?` in the reader's words; "" for no names."""
    if t.english or not names:
        return did_you_mean(names)
    shown = ["`" + escape(name.replace("`", "'")) + "`" for name in names]
    joined = shown[0] if len(shown) == 1 else t._("{names} or {last}", names=", ".join(
        shown[:-1]), last=shown[-1])
    return " " + t._("Did you mean {names}?", names=joined)
