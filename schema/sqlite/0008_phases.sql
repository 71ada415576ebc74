-- power.db, version 8: the supply phase each channel is on, and totals per phase.
-- (Version 7 is left to another change in flight; the numbers only need to grow.)

ALTER TABLE channel ADD COLUMN phase TEXT;  -- 'L1', 'L2', 'L3', 'leg1', 'leg2'; NULL: not said
-- 1: one of [dashboard] grid_channels, whose sum is the whole house (sub-circuits are inside it)
ALTER TABLE channel ADD COLUMN grid INTEGER NOT NULL DEFAULT 0;

-- The people's views gain the phase.
DROP VIEW IF EXISTS readings;
CREATE VIEW readings AS
SELECT b.ts,
       strftime('%Y-%m-%d %H:%M:%f', b.ts / 1000.0, 'unixepoch', 'localtime') AS time,
       c.name AS channel,
       b.mean, b.min, b.max, b.rms,
       b.vrms, b.frequency_hz,
       b.irms, b.real_power_w, b.apparent_power_va, b.power_factor,
       c.phase
FROM batch AS b
JOIN channel AS c ON c.id = b.channel_id;

DROP VIEW IF EXISTS power_minute;
CREATE VIEW power_minute AS
SELECT strftime('%Y-%m-%d %H:%M', r.ts / 1000, 'unixepoch', 'localtime') AS minute,
       c.name AS channel,
       round(r.mean, 1) AS avg_w,
       round(r.min, 1) AS min_w,
       round(r.max, 1) AS max_w,
       round(r.rms, 3) AS current_a,
       round(r.import_wh, 3) AS import_wh,
       round(r.export_wh, 3) AS export_wh,
       r.duration_ms / 1000.0 AS measured_s,
       r.ts,
       c.phase
FROM rollup_1m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current';

DROP VIEW IF EXISTS energy_day;
CREATE VIEW energy_day AS
SELECT date(r.ts / 1000, 'unixepoch', 'localtime') AS day,
       c.name AS channel,
       round(sum(r.import_wh) / 1000, 3) AS import_kwh,
       round(sum(r.export_wh) / 1000, 3) AS export_kwh,
       round((sum(r.import_wh) - sum(r.export_wh)) / 1000, 3) AS net_kwh,
       round(sum(r.duration_ms) / 3600000.0, 2) AS measured_h,
       c.phase
FROM rollup_15m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current'
GROUP BY r.channel_id, day;

-- Each phase's power per minute, and the whole house's ('house'): the grid channels added
-- up. current_a adds the CTs' RMS currents (exact with one CT a phase, an upper bound with
-- several); min and max are not added (the channels' extremes need not coincide).
CREATE VIEW power_minute_phase AS
SELECT strftime('%Y-%m-%d %H:%M', r.ts / 1000, 'unixepoch', 'localtime') AS minute,
       c.phase,
       round(sum(r.mean), 1) AS avg_w,
       round(sum(r.rms), 3) AS current_a,
       round(sum(r.import_wh), 3) AS import_wh,
       round(sum(r.export_wh), 3) AS export_wh,
       count(*) AS channels,
       r.ts
FROM rollup_1m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current' AND c.grid = 1 AND c.phase IS NOT NULL
GROUP BY r.ts, c.phase
UNION ALL
SELECT strftime('%Y-%m-%d %H:%M', r.ts / 1000, 'unixepoch', 'localtime'),
       'house',
       round(sum(r.mean), 1),
       round(sum(r.rms), 3),
       round(sum(r.import_wh), 3),
       round(sum(r.export_wh), 3),
       count(*),
       r.ts
FROM rollup_1m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current' AND c.grid = 1
GROUP BY r.ts;

-- Each phase's energy per local calendar day, and the whole house's ('house').
CREATE VIEW energy_day_phase AS
SELECT day, phase,
       round(sum(import_wh) / 1000, 3) AS import_kwh,
       round(sum(export_wh) / 1000, 3) AS export_kwh,
       round((sum(import_wh) - sum(export_wh)) / 1000, 3) AS net_kwh
FROM (SELECT date(r.ts / 1000, 'unixepoch', 'localtime') AS day, c.phase AS phase,
             r.import_wh, r.export_wh
      FROM rollup_15m AS r JOIN channel AS c ON c.id = r.channel_id
      WHERE c.kind = 'current' AND c.grid = 1 AND c.phase IS NOT NULL
      UNION ALL
      SELECT date(r.ts / 1000, 'unixepoch', 'localtime'), 'house', r.import_wh, r.export_wh
      FROM rollup_15m AS r JOIN channel AS c ON c.id = r.channel_id
      WHERE c.kind = 'current' AND c.grid = 1)
GROUP BY day, phase;
