-- Achievement completions and the counts the writer keeps so rarity needs no scan.

CREATE TABLE achievement_completions (
    id             INTEGER PRIMARY KEY,
    uuid           TEXT NOT NULL UNIQUE,       -- completionId
    user_id        INTEGER NOT NULL,
    achievement_id INTEGER NOT NULL,
    achieved_at    INTEGER NOT NULL,
    backdated      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, achievement_id)
);
CREATE INDEX achievement_completions_by_time ON achievement_completions (user_id, achieved_at);

CREATE TABLE achievement_counts (
    achievement_id INTEGER NOT NULL,
    tenant_id      INTEGER NOT NULL,
    completions    INTEGER NOT NULL,
    PRIMARY KEY (achievement_id, tenant_id)
) WITHOUT ROWID;

-- Progress of achievements with event-attribute filters: the sum of matching events.
CREATE TABLE achievement_progress (
    user_id        INTEGER NOT NULL,
    achievement_id INTEGER NOT NULL,
    progress       REAL NOT NULL,
    PRIMARY KEY (user_id, achievement_id)
) WITHOUT ROWID;

-- When each achievement was last backdated, so a restart backdates only what changed.
CREATE TABLE achievement_backdates (
    achievement_id INTEGER PRIMARY KEY,
    fingerprint    TEXT NOT NULL
);
