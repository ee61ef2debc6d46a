-- Wrapped (docs/behaviour/wrapped.md): aggregates the writer keeps so a year-in-review is a few
-- indexed reads. A "source" is a metric or a points system (its definitions.id); a slice
-- is the whole source (attr_key = attr_value = '') or the events carrying one event
-- attribute value. Days are local dates (in the user's zone when the event happened) as
-- days since 1970-01-01.

CREATE TABLE wrapped_days (
    user_id    INTEGER NOT NULL,
    source_id  INTEGER NOT NULL,
    attr_key   TEXT NOT NULL,
    attr_value TEXT NOT NULL,
    day        INTEGER NOT NULL,
    events     INTEGER NOT NULL,               -- metric events or points awards
    amount     REAL NOT NULL,                  -- sum of values or points
    PRIMARY KEY (user_id, source_id, attr_key, attr_value, day)
) WITHOUT ROWID;

-- Each user's change per week ('w:' + the Monday's day number), month ('m:YYYY-MM') and
-- year ('y:YYYY').
CREATE TABLE wrapped_periods (
    user_id    INTEGER NOT NULL,
    source_id  INTEGER NOT NULL,
    attr_key   TEXT NOT NULL,
    attr_value TEXT NOT NULL,
    period     TEXT NOT NULL,
    tenant_id  INTEGER NOT NULL,
    amount     REAL NOT NULL,
    previous   REAL NOT NULL,                  -- the amount before the last change
    PRIMARY KEY (user_id, source_id, attr_key, attr_value, period)
) WITHOUT ROWID;

-- How many users reached each amount per slice and period: a percentile sums the rows at
-- or below the user's amount, which are as many as there are distinct amounts (few for
-- counts), not as many as there are users.
CREATE TABLE wrapped_period_values (
    tenant_id  INTEGER NOT NULL,
    source_id  INTEGER NOT NULL,
    attr_key   TEXT NOT NULL,
    attr_value TEXT NOT NULL,
    period     TEXT NOT NULL,
    amount     REAL NOT NULL,
    users      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, source_id, attr_key, attr_value, period, amount)
) WITHOUT ROWID;

-- How many users were active per slice and period: the percentile's denominator.
CREATE TABLE wrapped_period_users (
    tenant_id  INTEGER NOT NULL,
    source_id  INTEGER NOT NULL,
    attr_key   TEXT NOT NULL,
    attr_value TEXT NOT NULL,
    period     TEXT NOT NULL,
    users      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, source_id, attr_key, attr_value, period)
) WITHOUT ROWID;

-- Events stored before this migration are folded in at the next start (time zones need
-- code, not SQL): see wrapped::backfill.
INSERT INTO meta (key, value) VALUES ('wrapped_backfill', 'pending')
    ON CONFLICT (key) DO UPDATE SET value = 'pending';
