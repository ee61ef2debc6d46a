-- A user's completions are read by user (at most one row per achievement), through the
-- UNIQUE (user_id, achievement_id) index, and sorted by time in the query. A second index
-- keyed by user cost one more page written per completion (6% of the pages of the
-- fan-out benchmark's events).
DROP INDEX achievement_completions_by_time;
