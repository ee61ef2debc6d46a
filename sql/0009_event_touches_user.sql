-- An event no longer rewrites its user's row just to move `updated` (behaviour: `updated`
-- moves on every upsert, and an event is one): the time of the user's last event per
-- metric is kept with the total the event updates anyway, and a user's `updated` is read
-- as the later of the row's and that. The row is written only when a field changes.
ALTER TABLE metric_totals ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
