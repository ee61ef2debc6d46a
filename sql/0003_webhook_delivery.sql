-- Webhook delivery (src/webhooks/delivery.rs) and rate-limited event types
-- (src/webhooks/coalesce.rs).

-- The worker asks, per endpoint, for pending rows that are due: a partial index holds
-- only the pending rows, so it stays small however long the delivery log is.
DROP INDEX webhook_outbox_due;
CREATE INDEX webhook_outbox_pending ON webhook_outbox (endpoint, next_attempt)
    WHERE status = 'pending';
-- The admin list of failed deliveries, newest first, without scanning delivered rows.
CREATE INDEX webhook_outbox_failed ON webhook_outbox (id) WHERE status = 'failed';
-- The delivery log is kept 7 days after a row is finished.
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished)
    WHERE finished IS NOT NULL;

-- Coalescing windows: at most one webhook per (event type, subject) per window. The
-- first change fires at once and opens the window; later changes inside it are merged
-- into `pending`, which is sent when the window ends (opening the next window).
CREATE TABLE webhook_windows (
    event_type  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    window_end  INTEGER NOT NULL,               -- ms
    pending     TEXT,                           -- merged body waiting for window_end
    window_ms   INTEGER NOT NULL,               -- the window's length, for the next one
    PRIMARY KEY (event_type, subject)
) WITHOUT ROWID;
CREATE INDEX webhook_windows_end ON webhook_windows (window_end);
