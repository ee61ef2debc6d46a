-- Points systems (issue #6): awards, totals, the counters behind metric triggers, the
-- counts the writer keeps for summaries, and the schedules of the timed points work.

-- Every award ever made; `system_id` and `trigger_id` are `definitions.id`. The trigger
-- and the boosts applied are kept as they were when the award was made: the trigger as a
-- shared snapshot (one row per version of a trigger, so award rows stay narrow), the
-- boosts as a JSON array (usually empty).
CREATE TABLE points_awards (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL,
    system_id   INTEGER NOT NULL,
    trigger_id  INTEGER,
    awarded     INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL,        -- points_trigger_snapshots.id
    boosts      TEXT NOT NULL            -- JSON array of PointsBoost
);
CREATE INDEX points_awards_by_user ON points_awards (user_id, system_id, at_ms);

-- A trigger as `PointsTrigger` JSON, per trigger and `updated` time of its definition.
CREATE TABLE points_trigger_snapshots (
    id         INTEGER PRIMARY KEY,
    trigger_id INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (trigger_id, updated)
);

CREATE TABLE points_totals (
    user_id   INTEGER NOT NULL,
    system_id INTEGER NOT NULL,
    tenant_id INTEGER NOT NULL,
    total     INTEGER NOT NULL,
    PRIMARY KEY (user_id, system_id)
) WITHOUT ROWID;

-- The best total a user ever had on a metric, stored only while it is above the current
-- total (after a decrease): metric triggers without event filters never pay twice for
-- the same ground. No row means the best total is the current one.
CREATE TABLE points_metric_marks (
    user_id   INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    best      REAL NOT NULL,
    PRIMARY KEY (user_id, metric_id)
) WITHOUT ROWID;

-- Metric triggers with event filters: the running sum of matching events and its best.
CREATE TABLE points_trigger_progress (
    user_id    INTEGER NOT NULL,
    trigger_id INTEGER NOT NULL,
    acc        REAL NOT NULL,
    best       REAL NOT NULL,
    PRIMARY KEY (user_id, trigger_id)
) WITHOUT ROWID;

-- Users with a totals row per points system, tenant and range bucket (see
-- points::rules::bucket_of), so the 11-range summary reads at most ~200 rows.
CREATE TABLE points_buckets (
    system_id INTEGER NOT NULL,
    tenant_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    users     INTEGER NOT NULL,
    PRIMARY KEY (system_id, tenant_id, bucket)
) WITHOUT ROWID;

-- Users with a totals row per current level (level_id 0: below every level).
CREATE TABLE points_level_counts (
    system_id INTEGER NOT NULL,
    tenant_id INTEGER NOT NULL,
    level_id  INTEGER NOT NULL,
    users     INTEGER NOT NULL,
    PRIMARY KEY (system_id, tenant_id, level_id)
) WITHOUT ROWID;

-- The level definitions the counts above were computed with.
CREATE TABLE points_level_fingerprints (
    system_id   INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL
);

-- The next tick of each time trigger for each user.
CREATE TABLE points_time_ticks (
    user_id    INTEGER NOT NULL,
    trigger_id INTEGER NOT NULL,
    next_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, trigger_id)
) WITHOUT ROWID;
CREATE INDEX points_time_ticks_due ON points_time_ticks (next_at);

-- points.boost_started / points.boost_finished: when each is due and whether it went out.
CREATE TABLE points_boost_notices (
    boost_id INTEGER NOT NULL,
    kind     TEXT NOT NULL,              -- 'started' | 'finished'
    due_at   INTEGER NOT NULL,
    sent     INTEGER NOT NULL,
    PRIMARY KEY (boost_id, kind)
) WITHOUT ROWID;
