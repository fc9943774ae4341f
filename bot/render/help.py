"""`/releases help [topic]`: what the app does, shown as commands with examples.

Modelled on the help of well-known Slack apps: a short header, each command in code with one
line on what it does, grouped by purpose, and pointers to the detailed topics at the end.
Every text is a message id (N_) translated where it is shown; the syntax it shows is the
canonical one, and the German help names the German keywords beside it.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import ENGLISH, N_, Texts
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import fit_blocks, fit_text
from bot.render.message import Message

TOPICS = ("filters", "standup", "subscribe", "shortcut")
_ALIASES = {
    "filter": "filters",
    "filters": "filters",
    "grammar": "filters",
    "search": "filters",
    "query": "filters",
    "standup": "standup",
    "stand-up": "standup",
    "subscribe": "subscribe",
    "subscriptions": "subscribe",
    "subscription": "subscribe",
    "unsubscribe": "subscribe",
    "follow": "subscribe",
    "unfollow": "subscribe",
    "following": "subscribe",
    "events": "subscribe",
    "digest": "subscribe",
    "digests": "subscribe",
    "notifications": "subscribe",
    "shortcut": "shortcut",
    "shortcuts": "shortcut",
    "message": "shortcut",
    # German names of the topics (the grammar reads `hilfe` as `help`).
        "suche": "filters",
    "abonnieren": "subscribe",
    "abos": "subscribe",
    "folgen": "subscribe",
    "nachricht": "shortcut",
}

_LOOKUP = N_("""*Look up releases* (only you see the answer; share it with a button)
• `/releases` open releases, same as `/releases open`
• `/releases closed` or `/releases all` by status
• `/releases group:DWH_GROUP` the releases of one release group
• `/releases groups` the release groups, with ids and open/closed counts
• `/releases 21` or `/releases #21` one release by id
• `/releases R59 group:DWH_GROUP` a release by name
• `/releases R9` or `/releases find R9` names alone look in open and closed releases
• `/releases standup` overdue, ending soon, started this week, closed since yesterday""")

_CHANNEL = N_("""*Keep this channel informed* (confirmed in the channel)
• `/releases subscribe group:DWH_GROUP` post here when releases open, close or change
• `/releases digest weekdays 09:00` the standup view here every weekday at 9:00
• `/releases subscriptions` list this channel's subscriptions and digests
• `/releases unsubscribe 3` stop one by id, or `/releases unsubscribe all`""")

_FOLLOW = N_("""*Follow one release* (direct messages, only to you)
• `/releases follow 21` a message when release 21 opens, closes, changes dates, is renamed \
or deleted, or gets a new hotfix; or press *Follow* on its details
• `/releases following` the releases you follow; `/releases unfollow 21` stops one""")

_SHORTCUT_SHORT = N_("""*From any message*
Open a message's *⋮* menu and choose *Find releases*: ids, names and \
filters it mentions are looked up.""")

_FILTERS = N_("""*Filters* narrow any lookup, standup, subscription or digest.
• `group:DWH_GROUP` or `group=DWH_GROUP` by release group name; `group_id:3` by id
• `name:R59` by name, `name:R59,R60` for several; `*` and `?` are wildcards: `name:R-2025-*`
• `open`, `closed`, `all` or `status:closed` by status (default: open)
• `closed:yes` / `closed:no` also work (`true/false/yes/no/1/0`)
• `hotfix:yes` only hotfixes, `hotfix:no` none
• `deleted:yes` include deleted releases (hidden by default)
• `page:2` a later page; `format:full` descriptions too, fewer per page
• `id:21` (or `#21`, `21`) one release; `refresh:yes` (or `refresh`) skips the cache
• `mention:`, `events:` work with `subscribe`, `tz:` with `digest`, `lang:` with both \
(`/releases help subscribe`)""")

_FILTERS_RULES = N_("""*Combining*
• Different keys combine with AND: `group:DWH_GROUP closed`
• A repeated key combines with OR: `group:DWH_GROUP group:LAKE`
• A leading `-` excludes: `-name:"*-HF*"`
• Quote values with spaces: `name:"Release 2022 Q1"`
Every answer restates the filters it applied.""")

_STANDUP = N_("""*`/releases standup [filters]`* what a team lead wants at 9:00, one line a release:
• *Overdue*: the end date passed and the release is still open
• *Ending within 7 days*
• *Started this week* (on Monday, since Friday)
• *Running* and *Not started yet*
• *Closed since the last working day* (Monday looks back to Friday), by the time the \
notification worker saw each release close; where no worker runs (or it had not seen the \
release open) the end date stands in, so a release closed early shows once its end date comes
Days are counted in your Slack time zone.
Example: `/releases standup group:DWH_GROUP`""")

_SUBSCRIBE = N_("""*Change notifications*
• `/releases subscribe [filters] [mention:@team]` post in this channel when a matching \
release appears, closes, is reopened, renamed, changes dates, is deleted or comes back. One \
message per release, updated in place; later changes go to its thread.
• `mention:@dwh-team` (a user group or a user) is pinged in each message
• `events:closed,reopened,dates` only those kinds of change (default: every kind). \
Kinds: `created`, `reopened`, `restored`, `closed`, `dates`, `renamed`, `deleted`; \
`opened` is the first three.
• `lang:de` or `lang:en` the language of the posts (default: the workspace's)
• Example: `/releases subscribe group:DWH_GROUP mention:@dwh-team events:closed,dates`""")

_DIGEST = N_("""*Digests*
• `/releases digest daily 09:00` every day
• `/releases digest weekdays 09:00 tz:Europe/Berlin group:DWH_GROUP` Monday to Friday
• `/releases digest mon,thu 09:30` chosen days
• `tz:Europe/Berlin` the time zone; it defaults to yours. An empty digest says so in one line.
• `lang:de` or `lang:en` the language of the digest (default: the workspace's)""")

_MANAGE = N_("""*Managing*
• `/releases subscriptions` lists this channel's subscriptions and digests with their ids
• `/releases unsubscribe 3` or `/releases unsubscribe all`
• `/releases allow-shared-channel` lets a channel shared with other organisations get them
Subscriptions belong to the channel, not to the person who made them.""")

_SHORTCUT = N_("""*Find releases* (message shortcut)
Open any message's *⋮* menu, choose *Find releases*, and the app looks up:
• release ids: `#21`, `release 21`
• filters: `group:DWH_GROUP`, `name:R59`
• names of known releases: `R59`, `R9.HF1`
Only you see the answer; each release's *Details* has a *Share in channel* button. When \
nothing is found, a button opens a search form.""")

_LANGUAGE = N_("""*Language*
• `/releases language de` answers you in German, `/releases language en` in English
• `/releases language auto` follows your Slack language again
Channel posts and digests are read by many: they use their subscription's language \
(`lang:de` or `lang:en` when subscribing), else the workspace's.""")

BLOCK_HELP_ACTIONS = "help_actions"
_MORE = N_(
    "More: `/releases help filters` · `/releases help standup` · "
    "`/releases help subscribe` · `/releases help shortcut`"
)


def _topic_blocks(topic: str) -> tuple[str, list[str]]:
    if topic == "filters":
        return N_("Help: filters"), [_FILTERS, _FILTERS_RULES]
    if topic == "standup":
        return N_("Help: standup"), [_STANDUP]
    if topic == "subscribe":
        return N_("Help: subscriptions and digests"), [_SUBSCRIBE, _DIGEST, _MANAGE, _FOLLOW]
    return N_("Help: message shortcut"), [_SHORTCUT]


def render_help(topic: str | None = None, t: Texts = ENGLISH) -> Message:
    """General help, or one topic; an unknown topic gets the general help with a note."""
    key = _ALIASES.get((topic or "").strip().lower()) if topic else None
    blocks: list[dict[str, Any]] = []
    if key is not None:
        title_id, section_ids = _topic_blocks(key)
        title, sections = t._(title_id), [t._(s) for s in section_ids]
        blocks.append(parts.header(title))
        blocks.extend(parts.section(s) for s in sections)
        blocks.append(parts.context(t._("All commands: `/releases help`")))
        fallback = f"{title}. " + sections[0].split("\n", 1)[0].replace("*", "")
    else:
        blocks.append(parts.header(t._("/releases: MetaKraftwerk releases in Slack")))
        if topic and topic.strip():
            blocks.append(
                parts.section(t._(
                    "There is no help on `{topic}`; the topics are {topics}. "
                    "Here is the overview.",
                    topic=escape_truncated(topic.strip(), 60),
                    topics=", ".join(f"`{name}`" for name in TOPICS),
                ))
            )
        overview = (_LOOKUP, _CHANNEL, _FOLLOW, _SHORTCUT_SHORT, _LANGUAGE)
        blocks.extend(parts.section(t._(s)) for s in overview)
        blocks.append(parts.context(t._(_MORE)))
        search = parts.button(
            t._("Search releases"), act.ACTION_OPEN_SEARCH, act.encode_open_search("")
        )
        blocks.append(parts.actions(BLOCK_HELP_ACTIONS, [search]))
        fallback = t._(
            "How to use /releases: `/releases` lists open releases, `/releases 21` shows one, "
            "`/releases standup` groups them for a standup; `/releases help filters` for more."
        )
    return Message(
        text=fit_text(fallback),
        blocks=fit_blocks(blocks),
        meta={"view": "help", "topic": key},
    )
