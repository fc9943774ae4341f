CREATE TABLE subscriptions (
	id SERIAL NOT NULL,
	team_id VARCHAR(32) NOT NULL,
	channel_id VARCHAR(32) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	filters TEXT NOT NULL,
	schedule VARCHAR(64),
	timezone VARCHAR(64),
	mention VARCHAR(255),
	created_by VARCHAR(32) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	paused_reason TEXT,
	paused_at TIMESTAMP WITH TIME ZONE,
	baseline_done BOOLEAN NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT ck_subscriptions_kind CHECK (kind IN ('change', 'digest')),
	CONSTRAINT ck_subscriptions_digest_schedule CHECK (kind = 'change' OR (schedule IS NOT NULL AND timezone IS NOT NULL))
);

CREATE INDEX ix_subscriptions_channel ON subscriptions (team_id, channel_id);

CREATE TABLE release_snapshot (
	release_id BIGINT NOT NULL,
	data JSONB NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (release_id)
);

CREATE TABLE worker_state (
	key VARCHAR(64) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (key)
);

CREATE TABLE parent_messages (
	team_id VARCHAR(32) NOT NULL,
	channel_id VARCHAR(32) NOT NULL,
	release_id BIGINT NOT NULL,
	ts VARCHAR(32) NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (team_id, channel_id, release_id)
);

CREATE TABLE outbox (
	id SERIAL NOT NULL,
	subscription_id INTEGER NOT NULL,
	team_id VARCHAR(32) NOT NULL,
	channel_id VARCHAR(32) NOT NULL,
	release_id BIGINT,
	kind VARCHAR(32) NOT NULL,
	payload JSONB NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	available_at TIMESTAMP WITH TIME ZONE NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT,
	slack_ts VARCHAR(32),
	sent_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id),
	CONSTRAINT ck_outbox_state CHECK (state IN ('pending', 'sent', 'failed'))
);

CREATE INDEX ix_outbox_pending ON outbox (state, available_at, id);

CREATE INDEX ix_outbox_subscription ON outbox (subscription_id);

CREATE TABLE digest_runs (
	id SERIAL NOT NULL,
	subscription_id INTEGER NOT NULL,
	local_date DATE NOT NULL,
	scheduled_at TIMESTAMP WITH TIME ZONE NOT NULL,
	outcome VARCHAR(16) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_digest_runs_subscription_day UNIQUE (subscription_id, local_date),
	CONSTRAINT ck_digest_runs_outcome CHECK (outcome IN ('sent', 'skipped'))
);

CREATE TABLE worker_leases (
	name VARCHAR(64) NOT NULL,
	holder VARCHAR(255) NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	acquired_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (name)
);

