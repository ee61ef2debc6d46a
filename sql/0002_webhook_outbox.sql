-- Webhook outbox: one row per (event, subscribed endpoint), written in the same
-- transaction as the change that caused it. The delivery worker reads due rows and
-- reports outcomes back through the writer.

CREATE TABLE webhook_outbox (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,          -- the webhook-id header, stable across retries
    endpoint     TEXT NOT NULL,                 -- the endpoint URL from [[webhooks]]
    event_type   TEXT NOT NULL,
    body         TEXT NOT NULL,                 -- the exact bytes that are signed and sent
    status       TEXT NOT NULL,                 -- 'pending' | 'delivered' | 'failed'
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,              -- ms; due when <= now and pending
    last_status  INTEGER,                       -- HTTP status of the last attempt
    last_error   TEXT,
    created      INTEGER NOT NULL,
    finished     INTEGER                        -- when it was delivered or given up
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt);
