"""Read-only queries of power.db used by the command line."""

from __future__ import annotations

import sqlite3

from corcypower.errors import StoreError
from corcypower.store.database import Database


def latest(db: Database) -> list[sqlite3.Row]:
    """The newest batch row of each channel, with its name and kind, in channel order.

    A channel's newest row ends its newest span, as in the `latest` view (found without
    scanning the batch table).
    """
    return db.query(
        """SELECT c.name, c.kind, c.unit, b.*
           FROM channel AS c
           JOIN batch AS b
             ON b.channel_id = c.id
            AND b.ts = (SELECT s.end_ms FROM span AS s WHERE s.channel_id = c.id
                        ORDER BY s.start_ms DESC LIMIT 1)
           ORDER BY c.id"""
    )


def channels_of(db: Database, names: list[str] | None, kind: str | None = None) -> dict[int, str]:
    """Channel ids and names, in id order: the named ones, or all (of a kind)."""
    rows = db.query("SELECT id, name, kind FROM channel ORDER BY id")
    if names is None:
        return {r["id"]: r["name"] for r in rows if kind is None or r["kind"] == kind}
    by_name = {r["name"]: r["id"] for r in rows}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none yet"
        raise StoreError(f"{db.path}: no channel named {', '.join(unknown)} (channels: {known})")
    return {by_name[n]: n for n in names}
