"""Pure functions from releases to Slack messages (Block Kit) and to console text."""
