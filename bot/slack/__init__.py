"""Bolt wiring only: listeners translate Slack payloads into calls on `bot.app.answers`."""
