-- Wrapped aggregates are folded in from the stored events and points awards after they
-- commit (wrapped::fold), no longer on the event path. Each award keeps the zone its local
-- day is counted in, as each event does.
ALTER TABLE points_awards ADD COLUMN tz TEXT;

-- How far the fold has got: the last events.id and points_awards.id counted. Everything
-- stored before this migration was counted on the event path already.
INSERT INTO meta (key, value)
    VALUES ('wrapped_folded_events', (SELECT ifnull(max(id), 0) FROM events))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
INSERT INTO meta (key, value)
    VALUES ('wrapped_folded_awards', (SELECT ifnull(max(id), 0) FROM points_awards))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
