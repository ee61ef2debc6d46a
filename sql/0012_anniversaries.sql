-- Anniversary achievements (SDK 1.27.0): a user's optional sign-up date, and the date the
-- scheduler finds anniversaries by. `anniversary_from` is the sign-up date, else the UTC
-- date of creation; the exact local date is worked out per user by the job, so the index
-- only has to narrow the search to a day either side.
ALTER TABLE users ADD COLUMN sign_up_date TEXT;
ALTER TABLE users ADD COLUMN anniversary_from TEXT NOT NULL DEFAULT '';
UPDATE users SET anniversary_from = date(created / 1000, 'unixepoch');
CREATE INDEX users_by_anniversary ON users (anniversary_from);

-- Per anniversary achievement, the `anniversary_from` date through which every user has
-- been decided (completed, or not eligible when their anniversary came).
CREATE TABLE anniversary_progress (
    achievement_id INTEGER PRIMARY KEY,
    decided_through TEXT NOT NULL
);
