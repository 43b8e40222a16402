-- Media of sent and received messages; the bytes live in the media store under storage_key.
CREATE TABLE media (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    storage_key TEXT NOT NULL,
    mimetype    TEXT NOT NULL,
    size        BIGINT NOT NULL,
    filename    TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX media_session ON media (session_id);
