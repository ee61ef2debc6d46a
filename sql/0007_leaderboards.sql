-- Leaderboards (docs/behaviour/leaderboards.md): each user's value per run, which of them
-- are on the board, the history of rank and value changes, and which run-boundary webhooks
-- were sent. Runs are named by their first date ('YYYY-MM-DD'); the in-memory rank index is
-- rebuilt from `leaderboard_values` at start.

CREATE TABLE leaderboard_values (
    leaderboard_id INTEGER NOT NULL,            -- definitions.id
    run_start      TEXT NOT NULL,
    user_id        INTEGER NOT NULL,            -- users.id
    grp            TEXT NOT NULL,               -- breakdown group ('' without breakdowns)
    value          REAL NOT NULL,
    reached_at     INTEGER NOT NULL,            -- ms when `value` was reached (ties: earlier first)
    ranked         INTEGER NOT NULL,            -- 1: on the board; 0: outside (not surpassing)
    PRIMARY KEY (leaderboard_id, run_start, user_id)
) WITHOUT ROWID;
-- The board of one group in ranking order, and its lowest participant. Not a partial
-- index: matching a partial index's WHERE against bound parameters makes SQLite re-prepare
-- statements on the table whenever their parameters change.
CREATE INDEX leaderboard_values_ranked
    ON leaderboard_values (leaderboard_id, run_start, grp, ranked, value DESC, reached_at, user_id);

-- One row per change to a user's rank or value in a run.
CREATE TABLE leaderboard_history (
    id             INTEGER PRIMARY KEY,
    leaderboard_id INTEGER NOT NULL,
    run_start      TEXT NOT NULL,
    run_end        TEXT,                        -- NULL for an open-ended run
    user_id        INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    previous_rank  INTEGER,
    rank           INTEGER,
    previous_value REAL,
    value          REAL
);
CREATE INDEX leaderboard_history_by_user
    ON leaderboard_history (leaderboard_id, user_id, run_start, at_ms);

-- Run-boundary webhooks already queued ('started' | 'finished'), so none is sent twice.
CREATE TABLE leaderboard_notices (
    leaderboard_id INTEGER NOT NULL,
    run_start      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    PRIMARY KEY (leaderboard_id, run_start, kind)
) WITHOUT ROWID;
