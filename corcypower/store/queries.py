"""Read-only queries of power.db used by the command line."""

from __future__ import annotations

import sqlite3

from corcypower.store.database import Database

RECENT_MS = 600_000  # look for each channel's latest row within ten minutes of the newest


def latest(db: Database) -> list[sqlite3.Row]:
    """The newest batch row of each channel, with its name and kind, in channel order."""
    return db.query(
        """SELECT c.name, c.kind, c.unit, b.*
           FROM channel AS c
           JOIN batch AS b ON b.channel_id = c.id
           WHERE b.ts >= (SELECT max(ts) FROM batch) - ?
             AND b.ts = (SELECT max(ts) FROM batch AS x
                         WHERE x.channel_id = c.id AND x.ts >= (SELECT max(ts) FROM batch) - ?)
           ORDER BY c.id""",
        (RECENT_MS, RECENT_MS),
    )
