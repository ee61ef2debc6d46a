-- Notifications (src/notifications): when each user's next timed message falls due, and
-- the outbox of messages decided and not yet sent.

-- One row per user and timed message type ('streak_reminder', 'recap', 'reactivation').
-- The scheduler's job takes rows whose `due_at` has passed, decides against the user's
-- state then (the streak still at risk, activity in the recap period, still quiet), and
-- moves `due_at` on or deletes the row, in the same transaction as the messages it queues:
-- a message is decided once.
CREATE TABLE notification_schedule (
    user_id INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    due_at  INTEGER NOT NULL,                -- ms
    step    INTEGER NOT NULL DEFAULT 0,      -- reactivation: messages sent this quiet spell
    anchor  INTEGER NOT NULL DEFAULT 0,      -- reactivation: the last activity counted from (ms)
    PRIMARY KEY (user_id, kind)
) WITHOUT ROWID;
CREATE INDEX notification_schedule_due ON notification_schedule (due_at);

-- One row per decided message and channel target (an address, or one device token).
-- `payload` is what the templates render, fixed when the message was decided.
CREATE TABLE notification_outbox (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    tenant_id    INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    channel      TEXT NOT NULL,              -- 'email' | 'push'
    target       TEXT NOT NULL,
    payload      TEXT NOT NULL,              -- JSON
    status       TEXT NOT NULL,              -- 'pending' | 'sent' | 'failed'
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,           -- ms; due when <= now and pending
    last_error   TEXT,
    created      INTEGER NOT NULL,
    finished     INTEGER                     -- when it was sent or given up
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt)
    WHERE status = 'pending';
CREATE INDEX notification_outbox_by_status ON notification_outbox (status, id);
CREATE INDEX notification_outbox_by_user ON notification_outbox (user_id, id);
CREATE INDEX notification_outbox_finished ON notification_outbox (finished)
    WHERE finished IS NOT NULL;
