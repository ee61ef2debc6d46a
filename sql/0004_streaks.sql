-- Streaks (docs/behaviour/streaks.md): one row per user, per-period accumulators that double as the
-- streak history, and admin pauses. Period indexes are `rules::periods::period_index` of
-- the period (cut in the user's time zone), so consecutive periods differ by one.

CREATE TABLE streaks (
    user_id             INTEGER PRIMARY KEY,        -- users.id
    tenant_id           INTEGER NOT NULL,
    length              INTEGER NOT NULL DEFAULT 0,
    started             TEXT,                       -- local date; NULL when length = 0
    last_met            INTEGER,                    -- period index of the last extension
    alive_through       INTEGER,                    -- period index; NULL when length = 0
    freezes             INTEGER NOT NULL DEFAULT 0,
    longest             INTEGER NOT NULL DEFAULT 0,
    longest_at          INTEGER,                    -- ms: when `longest` was first reached
    extended_at         INTEGER,                    -- ms: the last start or extension
    last_lost_length    INTEGER NOT NULL DEFAULT 0,
    tz                  TEXT NOT NULL,              -- the zone the indexes above were cut in
    next_settle_at      INTEGER,                    -- ms: end of the period due next (alive only)
    next_freeze_earn_at INTEGER                     -- ms: next auto-earn (below the maximum only)
);
-- The settlement job scans these in time order; most rows have NULLs and stay out.
CREATE INDEX streaks_settle ON streaks (next_settle_at) WHERE next_settle_at IS NOT NULL;
CREATE INDEX streaks_freeze_earn ON streaks (next_freeze_earn_at)
    WHERE next_freeze_earn_at IS NOT NULL;
-- Ranks and rankings: COUNT of longer streaks, and the top N per tenant in ranking order
-- (longer first, then whoever reached the length first).
CREATE INDEX streaks_by_length ON streaks (tenant_id, length DESC, extended_at);
CREATE INDEX streaks_by_longest ON streaks (tenant_id, longest DESC, longest_at);

-- One row per user and period that saw a streak-metric event or kept a streak alive.
CREATE TABLE streak_periods (
    user_id INTEGER NOT NULL,
    idx     INTEGER NOT NULL,                       -- period index
    sums    TEXT NOT NULL DEFAULT '{}',             -- JSON: metric key -> sum of values, kept
                                                    -- until the period can no longer matter (met)
    met     INTEGER NOT NULL DEFAULT 0,             -- the conditions were reached
    cover   TEXT,                                   -- why the streak was alive through it, or NULL
    length  INTEGER NOT NULL DEFAULT 0,             -- streak length at its end (when covered)
    PRIMARY KEY (user_id, idx)
) WITHOUT ROWID;

CREATE TABLE streak_pauses (
    id      INTEGER PRIMARY KEY,
    uuid    TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    first_day TEXT NOT NULL,                        -- local dates, inclusive
    last_day  TEXT NOT NULL,
    status  TEXT NOT NULL DEFAULT 'active',         -- 'active' | 'archived'
    created INTEGER NOT NULL
);
CREATE INDEX streak_pauses_by_user ON streak_pauses (user_id, status);
