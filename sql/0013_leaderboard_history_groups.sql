-- A user's leaderboard history also shows the changes other users' events make to their
-- rank (docs/behaviour/leaderboards.md#history). Those are derived when the history is
-- read, by replaying the changes of the user's breakdown group, so each history row now
-- says which group it happened in: `grp` is the group after the change (the one left, for a
-- user dropped or leaving), `previous_grp` the group before when the change moved the user
-- between groups (NULL: the same group). No row is written for the users a change moves
-- past.
ALTER TABLE leaderboard_history ADD COLUMN grp TEXT;
ALTER TABLE leaderboard_history ADD COLUMN previous_grp TEXT;

-- Rows written before this migration: the user's group in that run as stored now (exact
-- unless they moved between groups). Rows whose value was pruned keep NULL and are not
-- replayed.
UPDATE leaderboard_history
   SET grp = (SELECT v.grp FROM leaderboard_values v
               WHERE v.leaderboard_id = leaderboard_history.leaderboard_id
                 AND v.run_start = leaderboard_history.run_start
                 AND v.user_id = leaderboard_history.user_id);

-- The changes of one group of a run, newest first from any row.
CREATE INDEX leaderboard_history_by_group
    ON leaderboard_history (leaderboard_id, run_start, grp, id);
-- Moves out of a group (only breakdown boards make them, and rarely), so a group's
-- replay also sees the users who left it for another: the history row of each move,
-- under the group left.
CREATE TABLE leaderboard_history_moves (
    leaderboard_id INTEGER NOT NULL,
    run_start      TEXT NOT NULL,
    grp            TEXT NOT NULL,               -- the group left
    history_id     INTEGER NOT NULL,            -- leaderboard_history.id of the move
    PRIMARY KEY (leaderboard_id, run_start, grp, history_id)
) WITHOUT ROWID;
