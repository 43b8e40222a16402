-- The event log, webhooks and their deliveries. An event and its delivery rows
-- are written in the transaction of the state change that caused the event.
CREATE TABLE events (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    session_id TEXT,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_session ON events (session_id, seq);

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    session_id  TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    headers     TEXT NOT NULL,
    secret      TEXT NOT NULL,
    active      BIGINT NOT NULL,
    retry_count BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX webhooks_session ON webhooks (session_id);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_seq       BIGINT NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    last_attempt_at BIGINT,
    duration_ms     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_seq, webhook_id)
);
CREATE INDEX deliveries_due ON deliveries (webhook_id, status, next_attempt_at);
