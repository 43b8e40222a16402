-- Messages: the outbox (outgoing rows in status queued/sending) and the inbound store.
CREATE TABLE messages (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    wa_message_id TEXT,
    chat_id       TEXT NOT NULL,
    sender        TEXT NOT NULL,
    from_me       BIGINT NOT NULL,
    type          TEXT NOT NULL,
    content       TEXT NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    expires_at    BIGINT,
    timestamp     BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_wa_id ON messages (session_id, wa_message_id);
CREATE INDEX messages_session_time ON messages (session_id, timestamp);
CREATE INDEX messages_outbox ON messages (session_id, status, seq);

CREATE TABLE idempotency_keys (
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (session_id, key)
);
