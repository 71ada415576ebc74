-- power.db, version 1: channels and raw batches.
-- Times are integer milliseconds since the Unix epoch, UTC. Local time only in views.

-- What each channel is, so the file describes itself.
CREATE TABLE channel (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('voltage', 'current')),
    unit        TEXT NOT NULL,            -- 'V' or 'A': the unit of `scale`
    scale       REAL NOT NULL,            -- volts or amps per ADC count
    adc_channel INTEGER NOT NULL,
    cs          INTEGER NOT NULL DEFAULT 0,
    voltage     TEXT,                     -- current channels: voltage channel or fixed volts
    chip        TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
);

-- One row per channel per batch (~0.5 s), keyed time first: range scans read one run of pages.
-- ts is the end of the batch; the batch covers [ts - duration_ms, ts).
CREATE TABLE batch (
    ts                INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL REFERENCES channel (id),
    duration_ms       INTEGER NOT NULL,
    n                 INTEGER NOT NULL,   -- samples
    mean              REAL NOT NULL,      -- ADC counts
    min               INTEGER NOT NULL,
    max               INTEGER NOT NULL,
    rms               REAL NOT NULL,      -- standard deviation of the counts (the original's rms)
    vrms              REAL,               -- voltage channels
    frequency_hz      REAL,
    irms              REAL,               -- current channels
    real_power_w      REAL,
    apparent_power_va REAL,
    power_factor      REAL,
    flags             INTEGER NOT NULL DEFAULT 0,  -- 1 clipped, 2 flat, 4 late, 8 no cycles, 16 nominal voltage
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;

-- For the sqlite3 shell: one row per channel per batch, in local time.
CREATE VIEW readings AS
SELECT b.ts,
       strftime('%Y-%m-%d %H:%M:%f', b.ts / 1000.0, 'unixepoch', 'localtime') AS time,
       c.name AS channel,
       b.mean, b.min, b.max, b.rms,
       b.vrms, b.frequency_hz,
       b.irms, b.real_power_w, b.apparent_power_va, b.power_factor
FROM batch AS b
JOIN channel AS c ON c.id = b.channel_id;
