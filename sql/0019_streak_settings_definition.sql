-- The streak settings stored through the Admin API become a definition (issue #16): the
-- `meta` row `streak_settings` moves to the one shared `definitions` row of kind
-- `streak_settings` and key `streak` (store/definitions.rs), its body byte for byte. The row
-- gets a random UUID (version 4, as the Admin API's rows) and the time of the migration as
-- created and updated; it is active and not managed (a file's `[streaks]` never touched it).
-- A body that does not parse moves as it is, so the start still refuses, naming the row.
-- A JSON `null`, read as "no settings", moves as no row.
--
-- The fingerprints the streak state was computed with (`streak_fingerprint`,
-- `streak_freeze_fingerprint`) are engine state and stay in `meta`, unchanged, so that
-- nothing is recomputed at the next start.
INSERT INTO definitions (uuid, tenant_id, kind, key, status, managed, body, created, updated)
SELECT lower(substr(r.h, 1, 8) || '-' || substr(r.h, 9, 4) || '-4' || substr(r.h, 14, 3) || '-'
             || substr('89AB', 1 + abs(random() % 4), 1) || substr(r.h, 18, 3) || '-'
             || substr(r.h, 21, 12)),
       NULL, 'streak_settings', 'streak', 'active', 0, m.value, r.now_ms, r.now_ms
  FROM meta m,
       (SELECT hex(randomblob(16)) AS h,
               CAST(unixepoch('subsec') * 1000 AS INTEGER) AS now_ms) r
 WHERE m.key = 'streak_settings'
   AND (CASE WHEN json_valid(m.value) THEN json_type(m.value) END) IS NOT 'null';

DELETE FROM meta WHERE key = 'streak_settings';
