-- power.db, version 3: the MySQL exporter's bookkeeping (corcypower/export). power.db itself
-- is the outbox (the energy_minute view of closed minutes); these tables say how far it has
-- been sent. They hold a few rows, written by the exporter in short transactions of its own.

-- How far each target (host:port/database/point) has been sent: every closed minute up to and
-- including sent_ts is committed there. Moved only after the MySQL commit, so a crash in
-- between re-sends a batch, which the upserts make harmless.
CREATE TABLE mysql_export (
    target      TEXT PRIMARY KEY,
    sent_ts     INTEGER NOT NULL,            -- the high-water mark: start of a minute, ms UTC
    rows_sent   INTEGER NOT NULL DEFAULT 0,  -- rows committed there, counted since the first
    sent_at_ms  INTEGER,                     -- when rows were last committed there
    error       TEXT,                        -- the last error; NULL once a send succeeds
    error_at_ms INTEGER,
    failures    INTEGER NOT NULL DEFAULT 0   -- failed attempts in a row
) WITHOUT ROWID;

-- Rows the server refused (a value out of range, a constraint): set aside so the rows behind
-- them still go; `corcypower mysql status` lists them, `corcypower mysql resend` retries them.
CREATE TABLE mysql_rejected (
    target  TEXT NOT NULL,
    tbl     TEXT NOT NULL,     -- VolumeData or ChannelMinute
    ts      INTEGER NOT NULL,  -- start of the minute, ms UTC
    name    TEXT NOT NULL,     -- the point (VolumeData) or the channel (ChannelMinute)
    error   TEXT NOT NULL,
    at_ms   INTEGER NOT NULL,
    PRIMARY KEY (target, tbl, ts, name)
) WITHOUT ROWID;
