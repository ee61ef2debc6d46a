-- What the console's overview and charts count, per tenant and UTC hour, kept by the writer
-- (src/activity) so that no page view counts rows of `events` or `points_awards`.
CREATE TABLE activity_hours (
    tenant_id    INTEGER NOT NULL,
    hour         INTEGER NOT NULL,          -- whole hours since 1970-01-01T00:00Z
    events       INTEGER NOT NULL DEFAULT 0,
    active_users INTEGER NOT NULL DEFAULT 0, -- users whose first event of their UTC day fell in it
    new_users    INTEGER NOT NULL DEFAULT 0,
    awards       INTEGER NOT NULL DEFAULT 0, -- points awards (negative ones included)
    points       INTEGER NOT NULL DEFAULT 0, -- their sum
    PRIMARY KEY (tenant_id, hour)
) WITHOUT ROWID;

-- What databases hold already, counted once here.
INSERT INTO activity_hours (tenant_id, hour, events)
SELECT * FROM (
    SELECT u.tenant_id, e.at / 3600000, count(*)
      FROM events e JOIN users u ON u.id = e.user_id
     GROUP BY 1, 2
) WHERE true
ON CONFLICT (tenant_id, hour) DO UPDATE SET events = events + excluded.events;

INSERT INTO activity_hours (tenant_id, hour, active_users)
SELECT * FROM (
    SELECT tenant_id, first / 3600000, count(*) FROM (
        SELECT u.tenant_id AS tenant_id, min(e.at) AS first
          FROM events e JOIN users u ON u.id = e.user_id
         GROUP BY e.user_id, e.at / 86400000
    ) GROUP BY 1, 2
) WHERE true
ON CONFLICT (tenant_id, hour) DO UPDATE SET active_users = active_users + excluded.active_users;

INSERT INTO activity_hours (tenant_id, hour, new_users)
SELECT * FROM (SELECT tenant_id, created / 3600000, count(*) FROM users GROUP BY 1, 2) WHERE true
ON CONFLICT (tenant_id, hour) DO UPDATE SET new_users = new_users + excluded.new_users;

INSERT INTO activity_hours (tenant_id, hour, awards, points)
SELECT * FROM (
    SELECT u.tenant_id, a.at_ms / 3600000, count(*), sum(a.awarded)
      FROM points_awards a JOIN users u ON u.id = a.user_id
     GROUP BY 1, 2
) WHERE true
ON CONFLICT (tenant_id, hour) DO UPDATE SET awards = awards + excluded.awards,
                                            points = points + excluded.points;
