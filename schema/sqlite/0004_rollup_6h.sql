-- power.db, version 4: a 6-hour rollup level between 1 hour and 1 day, so that a year is
-- 1460 buckets per channel rather than 8760 hours and the history query of a year costs no
-- more than that of an hour. Columns as the other levels (0002_history.sql). It is filled
-- from rollup_1h, six hours to a bucket, in this migration's transaction (database.py).
CREATE TABLE rollup_6h (
    ts INTEGER NOT NULL, channel_id INTEGER NOT NULL REFERENCES channel (id),
    n INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    mean REAL, min REAL, max REAL, rms REAL,
    import_wh REAL, export_wh REAL, apparent_vah REAL, flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ts, channel_id)
) WITHOUT ROWID;
