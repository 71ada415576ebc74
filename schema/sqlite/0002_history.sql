-- power.db, version 2: coverage (spans, and the gaps between them), rollups, and the views
-- people query from the sqlite3 shell. Times are integer ms UTC; local time only in views.
-- A database of version 1 is upgraded by this file plus a rebuild of spans and rollups from
-- its raw batches, in the same transaction (corcypower/store/database.py).

-- What time each channel has data for: maximal runs of batches with no hole between them.
-- The holes between a channel's spans are its gaps (daemon stopped, clock jumped, lost
-- batches): energy is never carried across them. A row whose end falls inside a span is
-- already stored, which makes imports idempotent even after raw rows have been deleted.
CREATE TABLE span (
    channel_id INTEGER NOT NULL REFERENCES channel (id),
    start_ms   INTEGER NOT NULL,  -- start of the first batch (ts - duration_ms)
    end_ms     INTEGER NOT NULL,  -- end (ts) of the last batch
    PRIMARY KEY (channel_id, start_ms)
) WITHOUT ROWID;

-- Rollups: one row per channel per bucket [ts, ts + width), maintained in the same
-- transaction as the raw rows. A batch straddling a bucket boundary is split between the two
-- buckets in proportion to time. For current channels mean/min/max are real power (W) and rms
-- is Irms (A); for voltage channels they are Vrms (V) and the energy columns are NULL.
--   n            batches ending in the bucket
--   duration_ms  time measured in the bucket (less than the width where there are gaps)
--   mean         time-weighted mean;  min, max: extremes of the batches
--   rms          sqrt(time-weighted mean of Irms² or Vrms²)
--   import_wh    energy drawn from the grid (P > 0), export_wh energy sent to it (P < 0)
--   apparent_vah apparent energy (S · t), for the power factor over the bucket
--   flags        OR of the batches' flags
CREATE TABLE rollup_10s (
    ts INTEGER NOT NULL, channel_id INTEGER NOT NULL REFERENCES channel (id),
    n INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    mean REAL, min REAL, max REAL, rms REAL,
    import_wh REAL, export_wh REAL, apparent_vah REAL, flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;

CREATE TABLE rollup_1m (
    ts INTEGER NOT NULL, channel_id INTEGER NOT NULL REFERENCES channel (id),
    n INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    mean REAL, min REAL, max REAL, rms REAL,
    import_wh REAL, export_wh REAL, apparent_vah REAL, flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;

CREATE TABLE rollup_15m (
    ts INTEGER NOT NULL, channel_id INTEGER NOT NULL REFERENCES channel (id),
    n INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    mean REAL, min REAL, max REAL, rms REAL,
    import_wh REAL, export_wh REAL, apparent_vah REAL, flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;

CREATE TABLE rollup_1h (
    ts INTEGER NOT NULL, channel_id INTEGER NOT NULL REFERENCES channel (id),
    n INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    mean REAL, min REAL, max REAL, rms REAL,
    import_wh REAL, export_wh REAL, apparent_vah REAL, flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;

CREATE TABLE rollup_1d (
    ts INTEGER NOT NULL, channel_id INTEGER NOT NULL REFERENCES channel (id),
    n INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    mean REAL, min REAL, max REAL, rms REAL,
    import_wh REAL, export_wh REAL, apparent_vah REAL, flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;

-- ---- views for people (sqlite3 shell): local time, units in the column names ----------

-- The newest batch of every channel.
CREATE VIEW latest AS
SELECT c.name AS channel,
       c.kind,
       datetime(b.ts / 1000, 'unixepoch', 'localtime') AS time,
       round(b.real_power_w, 1) AS power_w,
       round(b.apparent_power_va, 1) AS apparent_va,
       round(b.power_factor, 3) AS power_factor,
       round(b.irms, 3) AS current_a,
       round(b.vrms, 2) AS voltage_v,
       round(b.frequency_hz, 3) AS frequency_hz,
       b.flags,
       b.ts
FROM channel AS c
JOIN batch AS b
  ON b.channel_id = c.id
 AND b.ts = (SELECT s.end_ms FROM span AS s WHERE s.channel_id = c.id
             ORDER BY s.start_ms DESC LIMIT 1);

-- Power of current channels per minute.
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
       r.ts
FROM rollup_1m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current';

-- Energy per local calendar day (daylight saving handled: such a day has 23 or 25 hours),
-- from the 15-minute rollups: every time zone's offset is a whole number of quarter hours,
-- so local midnight is always a bucket boundary.
CREATE VIEW energy_day AS
SELECT date(r.ts / 1000, 'unixepoch', 'localtime') AS day,
       c.name AS channel,
       round(sum(r.import_wh) / 1000, 3) AS import_kwh,
       round(sum(r.export_wh) / 1000, 3) AS export_kwh,
       round((sum(r.import_wh) - sum(r.export_wh)) / 1000, 3) AS net_kwh,
       round(sum(r.duration_ms) / 3600000.0, 2) AS measured_h
FROM rollup_15m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current'
GROUP BY r.channel_id, day;

-- Cumulative energy since the database began (kept forever): it only ever grows, as Home
-- Assistant's energy dashboard expects of a total_increasing sensor.
CREATE VIEW energy_total AS
SELECT c.name AS channel,
       round(sum(r.import_wh) / 1000, 3) AS import_kwh,
       round(sum(r.export_wh) / 1000, 3) AS export_kwh,
       datetime((SELECT min(s.start_ms) FROM span AS s WHERE s.channel_id = r.channel_id) / 1000,
                'unixepoch', 'localtime') AS since
FROM rollup_1d AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current'
GROUP BY r.channel_id;

-- Holes in each channel's data: from the end of one span to the start of the next.
CREATE VIEW gaps AS
SELECT c.name AS channel,
       strftime('%Y-%m-%d %H:%M:%f', g.from_ms / 1000.0, 'unixepoch', 'localtime') AS from_time,
       strftime('%Y-%m-%d %H:%M:%f', g.to_ms / 1000.0, 'unixepoch', 'localtime') AS to_time,
       (g.to_ms - g.from_ms) / 1000.0 AS seconds,
       g.from_ms,
       g.to_ms
FROM (SELECT channel_id,
             lag(end_ms) OVER (PARTITION BY channel_id ORDER BY start_ms) AS from_ms,
             start_ms AS to_ms
      FROM span) AS g
JOIN channel AS c ON c.id = g.channel_id
WHERE g.from_ms IS NOT NULL;

-- ---- for programs ------------------------------------------------------------------------

-- Closed minutes of current channels, for the MySQL exporter (EnergyMonitor's VolumeData):
-- keyed (ts, channel_id) like rollup_1m, exact values. A minute is closed once the channel
-- has a batch ending at or after the minute's end; only an import of old data adds to a
-- closed minute afterwards.
CREATE VIEW energy_minute AS
SELECT r.ts,
       r.channel_id,
       c.name AS channel,
       r.import_wh,
       r.export_wh,
       r.min AS min_w,
       r.max AS max_w,
       r.mean AS avg_w,
       r.n AS batches,
       r.duration_ms
FROM rollup_1m AS r
JOIN channel AS c ON c.id = r.channel_id
WHERE c.kind = 'current'
  AND r.ts + 60000 <= (SELECT s.end_ms FROM span AS s WHERE s.channel_id = r.channel_id
                       ORDER BY s.start_ms DESC LIMIT 1);
