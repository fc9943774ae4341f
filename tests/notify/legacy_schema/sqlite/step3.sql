ALTER TABLE subscriptions ADD COLUMN events TEXT;

ALTER TABLE outbox ADD COLUMN follow_id INTEGER;

CREATE TABLE follows (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	team_id VARCHAR(32) NOT NULL,
	user_id VARCHAR(32) NOT NULL,
	release_id BIGINT NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT uq_follows_user_release UNIQUE (team_id, user_id, release_id)
);

CREATE INDEX ix_follows_release ON follows (release_id);

