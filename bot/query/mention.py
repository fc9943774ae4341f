"""Slack's forms of a mention and a user id, shared by the parser and every renderer."""

from __future__ import annotations

import re

# A user group or user mention as Slack sends it: `<!subteam^S1|@team>`, `<@U1>`. Bounded, so
# that a stored mention always fits its column (255 characters).
MENTION_MARKUP = re.compile(
    r"<(?:!subteam\^[A-Z0-9]{1,30}|@[UW][A-Z0-9]{1,30})(?:\|[^<>]{0,120})?>"
)
# A mention typed as plain text, which pings nobody: `@dwh-team`.
PLAIN_MENTION = re.compile(r"@[\w.\-]{1,80}")
# A Slack user id, e.g. the caller's: `U024BE7LH`.
USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
