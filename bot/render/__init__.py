"""Pure functions from releases to Slack messages (Block Kit) and to console text.

Every renderer returns a `Message` whose blocks passed `block_limits.fit_blocks`, so it is
within Block Kit's limits whatever the data, whose foreign text is escaped, and whose `text` is a
plain fallback for notifications and screen readers. Time-relative output takes an injected `now`.

Import from the modules (escaping itself lives in `bot.mrkdwn`, below the grammar):
`listing.render_list`, `detail.render_detail`, `standup.render_standup` (its groups are the
use case's, `bot.app.standup`), `help.render_help`, `errors.render_error` (and friends),
`shortcut.render_shortcut_result`, `text.render_text`, `actions` for button ids and values.
"""
