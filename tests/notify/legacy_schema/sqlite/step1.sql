CREATE TABLE subscriptions (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	team_id VARCHAR(32) NOT NULL,
	channel_id VARCHAR(32) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	filters TEXT NOT NULL,
	schedule VARCHAR(64),
	timezone VARCHAR(64),
	mention VARCHAR(255),
	created_by VARCHAR(32) NOT NULL,
	created_at DATETIME NOT NULL,
	paused_reason TEXT,
	paused_at DATETIME,
	baseline_done BOOLEAN NOT NULL,
	CONSTRAINT ck_subscriptions_kind CHECK (kind IN ('change', 'digest')),
	CONSTRAINT ck_subscriptions_digest_schedule CHECK (kind = 'change' OR (schedule IS NOT NULL AND timezone IS NOT NULL))
);

CREATE INDEX ix_subscriptions_channel ON subscriptions (team_id, channel_id);

CREATE TABLE release_snapshot (
	release_id BIGINT NOT NULL,
	data JSON NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (release_id)
);

CREATE TABLE worker_state (
	"key" VARCHAR(64) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE parent_messages (
	team_id VARCHAR(32) NOT NULL,
	channel_id VARCHAR(32) NOT NULL,
	release_id BIGINT NOT NULL,
	ts VARCHAR(32) NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (team_id, channel_id, release_id)
);

CREATE TABLE outbox (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	subscription_id INTEGER NOT NULL,
	team_id VARCHAR(32) NOT NULL,
	channel_id VARCHAR(32) NOT NULL,
	release_id BIGINT,
	kind VARCHAR(32) NOT NULL,
	payload JSON NOT NULL,
	created_at DATETIME NOT NULL,
	available_at DATETIME NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT,
	slack_ts VARCHAR(32),
	sent_at DATETIME,
	CONSTRAINT ck_outbox_state CHECK (state IN ('pending', 'sent', 'failed'))
);

CREATE INDEX ix_outbox_subscription ON outbox (subscription_id);

CREATE INDEX ix_outbox_pending ON outbox (state, available_at, id);

CREATE TABLE digest_runs (
	id INTEGER NOT NULL,
	subscription_id INTEGER NOT NULL,
	local_date DATE NOT NULL,
	scheduled_at DATETIME NOT NULL,
	outcome VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_digest_runs_subscription_day UNIQUE (subscription_id, local_date),
	CONSTRAINT ck_digest_runs_outcome CHECK (outcome IN ('sent', 'skipped'))
);

CREATE TABLE worker_leases (
	name VARCHAR(64) NOT NULL,
	holder VARCHAR(255) NOT NULL,
	expires_at DATETIME NOT NULL,
	acquired_at DATETIME NOT NULL,
	PRIMARY KEY (name)
);

