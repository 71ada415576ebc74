-- power.db, version 6: alerts (corcypower/alerts). One row each time an alert fires or
-- resolves, written by the alerts' own connection in a short transaction of its own, as the
-- MySQL exporter's bookkeeping is. Events older than a year are deleted by the daemon.
CREATE TABLE alert_event (
    id        INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,  -- when it fired or resolved, ms UTC
    alert     TEXT NOT NULL,     -- the [[alerts]] name
    state     TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    since_ms  INTEGER NOT NULL,  -- when the condition began to hold (firing) or to be clear
    channel   TEXT,              -- a channel, "total", or NULL (device-wide conditions)
    value     REAL,              -- W (power), s (stale), min (unreachable); NULL for flags
    threshold REAL,              -- the rule's limit, in the same unit
    text      TEXT NOT NULL      -- what happened, in words
);
CREATE INDEX alert_event_ts ON alert_event (ts);
CREATE INDEX alert_event_alert ON alert_event (alert, ts);

-- For people (sqlite3 shell): every event in local time, newest last.
CREATE VIEW alerts AS
SELECT strftime('%Y-%m-%d %H:%M:%S', e.ts / 1000, 'unixepoch', 'localtime') AS time,
       e.alert,
       e.state,
       e.channel,
       round(e.value, 1) AS value,
       e.threshold,
       strftime('%Y-%m-%d %H:%M:%S', e.since_ms / 1000, 'unixepoch', 'localtime') AS since,
       e.text,
       e.ts
FROM alert_event AS e;

-- The alerts firing now (as last recorded): each alert's newest event, when it is "firing".
CREATE VIEW alerts_active AS
SELECT strftime('%Y-%m-%d %H:%M:%S', e.since_ms / 1000, 'unixepoch', 'localtime') AS since,
       e.alert,
       e.channel,
       round(e.value, 1) AS value,
       e.threshold,
       e.text,
       strftime('%Y-%m-%d %H:%M:%S', e.ts / 1000, 'unixepoch', 'localtime') AS fired,
       e.ts
FROM alert_event AS e
WHERE e.id IN (SELECT max(id) FROM alert_event GROUP BY alert)
  AND e.state = 'firing';
