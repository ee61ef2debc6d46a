-- What the console's engagement charts count (src/activity, src/store/engagement.rs), kept
-- so that no page view reads `events` or the delivery logs row by row.

-- Returns per tenant, UTC day, control flag and gap: the users whose first event of that
-- day came `gap` days after the day of their previous event (1..30; 31 for a longer gap
-- or a first event ever). Summed over a day it is that day's active users; a user active
-- in a window of N days is counted once, on their first active day in it, whose gap
-- reaches back before the window: so the last 7 and 30 days' distinct active users (WAU,
-- MAU) of any day are sums of these rows (activity::returns).
CREATE TABLE activity_returns (
    tenant_id INTEGER NOT NULL,
    day       INTEGER NOT NULL,          -- whole days since 1970-01-01 (UTC)
    control   INTEGER NOT NULL,          -- the users' control flag
    gap       INTEGER NOT NULL,          -- 1..31
    users     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, control, gap)
) WITHOUT ROWID;

INSERT INTO activity_returns (tenant_id, day, control, gap, users)
SELECT tenant_id, day, control, min(ifnull(day - previous, 31), 31), count(*) FROM (
    SELECT u.tenant_id AS tenant_id, u.control AS control, d.day AS day,
           lag(d.day) OVER (PARTITION BY d.user_id ORDER BY d.day) AS previous
      FROM (SELECT DISTINCT user_id, at / 86400000 AS day FROM events) d
      JOIN users u ON u.id = d.user_id
) GROUP BY 1, 2, 3, 4;

-- The control group's size per tenant (the rest is the user count less it): a partial
-- index holds only control users, so counting them reads about controlRatio of the users.
CREATE INDEX users_in_control ON users (tenant_id) WHERE control = 1;

-- Deliveries finished per UTC day (webhooks: the server's; notifications: per tenant),
-- counted by triggers when a row leaves 'pending' for good, whichever path finishes it
-- (an attempt's outcome, an endpoint removed from trophy.toml). A row retried by an admin
-- and finished again counts again, on the day it finished.
CREATE TABLE webhook_outcome_days (
    day       INTEGER PRIMARY KEY,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE notification_outcome_days (
    tenant_id INTEGER NOT NULL,
    day       INTEGER NOT NULL,
    sent      INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
) WITHOUT ROWID;

INSERT INTO webhook_outcome_days (day, delivered, failed)
SELECT finished / 86400000, sum(status = 'delivered'), sum(status = 'failed')
  FROM webhook_outbox WHERE finished IS NOT NULL AND status IN ('delivered', 'failed')
 GROUP BY 1;

INSERT INTO notification_outcome_days (tenant_id, day, sent, failed)
SELECT tenant_id, finished / 86400000, sum(status = 'sent'), sum(status = 'failed')
  FROM notification_outbox WHERE finished IS NOT NULL AND status IN ('sent', 'failed')
 GROUP BY 1, 2;

CREATE TRIGGER webhook_outcome AFTER UPDATE OF status ON webhook_outbox
WHEN OLD.status = 'pending' AND NEW.status IN ('delivered', 'failed')
BEGIN
    INSERT INTO webhook_outcome_days (day, delivered, failed)
    VALUES (ifnull(NEW.finished, 0) / 86400000, NEW.status = 'delivered', NEW.status = 'failed')
    ON CONFLICT (day) DO UPDATE SET delivered = delivered + excluded.delivered,
                                    failed = failed + excluded.failed;
END;

CREATE TRIGGER notification_outcome AFTER UPDATE OF status ON notification_outbox
WHEN OLD.status = 'pending' AND NEW.status IN ('sent', 'failed')
BEGIN
    INSERT INTO notification_outcome_days (tenant_id, day, sent, failed)
    VALUES (NEW.tenant_id, ifnull(NEW.finished, 0) / 86400000, NEW.status = 'sent',
            NEW.status = 'failed')
    ON CONFLICT (tenant_id, day) DO UPDATE SET sent = sent + excluded.sent,
                                               failed = failed + excluded.failed;
END;
