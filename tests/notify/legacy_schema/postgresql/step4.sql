CREATE INDEX IF NOT EXISTS ix_outbox_channel_order ON outbox (state, team_id, channel_id, id);

