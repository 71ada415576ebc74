"""The central tables, created and brought up to date by `corcypower mysql init`.

Every step looks before it acts, so init can run again and again: on an empty database, on
EnergyMonitor's own (its VolumeData keeps its rows and columns), or on one made by an older
CorcyPower. The steps, in order:

1. the tables of schema/mysql/tables.sql (CREATE TABLE IF NOT EXISTS);
2. older tables brought up to date: VolumeData's Point widened to 64 characters and its index
   (Point, TimeStamp) added if missing; ChannelMinute's primary key moved from (TimeStamp,
   Point, Channel) to (Point, Channel, TimeStamp) (a rebuild of the table: docs/mysql.md);
3. the triggers of schema/mysql/triggers.sql that are missing;
4. once, ChannelHour filled from the minutes already there. The triggers exist before it, and
   it reads the minutes with locks, so a minute written meanwhile waits and is then added by
   its trigger: none is missed or counted twice. The step is recorded in CorcyPowerSchema in
   the same transaction, so a failure leaves it to be done by the next init.

DDL commits by itself in MySQL, so the steps are not one transaction; each is safe to repeat.
"""

from __future__ import annotations

import re
from importlib import resources

from corcypower.export.config import MAX_NAME

MINUTE_KEY = ("Point", "Channel", "TimeStamp")
OLD_MINUTE_INDEX = "PointChannelTimestampIdx"  # (Point, Channel, TimeStamp): now the primary key
VOLUME_INDEX = "PointTimestampIdx"  # EnergyMonitor's own name for it
HOURS_FILLED = "ChannelHour filled from ChannelMinute"
HOUR_COLUMNS = ("ImportWh", "ExportWh", "NumReads", "MeasuredSeconds")


def statements(name: str) -> list[str]:
    """The statements of schema/mysql/<name> (comment lines dropped)."""
    text = resources.files("corcypower.schema").joinpath(f"mysql/{name}").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def init(cur) -> list[str]:
    """Create and upgrade the tables, triggers and hours through a cursor; what was done."""
    done = []
    for statement in statements("tables.sql"):
        cur.execute(statement)
        done.append(statement.split("(")[0].strip())
    done += _widen_volume_point(cur)
    if not _index_columns(cur, "VolumeData", VOLUME_INDEX):
        cur.execute(f"ALTER TABLE `VolumeData` ADD KEY `{VOLUME_INDEX}` (`Point`, `TimeStamp`)")
        done.append(f"ALTER TABLE VolumeData: index {VOLUME_INDEX} (Point, TimeStamp) added")
    done += _rekey_minutes(cur)
    for statement in statements("triggers.sql"):
        name = re.match(r"CREATE TRIGGER `(\w+)`", statement).group(1)
        cur.execute(
            "SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
            "AND TRIGGER_NAME = %s",
            (name,),
        )
        if cur.fetchone() is None:
            cur.execute(statement)
            done.append(f"CREATE TRIGGER {name}")
    done += _fill_hours(cur)
    return done


def _widen_volume_point(cur) -> list[str]:
    cur.execute(
        "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'VolumeData' AND COLUMN_NAME = 'Point'"
    )
    length = cur.fetchone()[0]
    if length >= MAX_NAME:
        return []
    cur.execute(f"ALTER TABLE `VolumeData` MODIFY `Point` varchar({MAX_NAME}) NOT NULL")
    return [f"ALTER TABLE VolumeData: Point varchar({length}) -> varchar({MAX_NAME})"]


def _rekey_minutes(cur) -> list[str]:
    """ChannelMinute clustered by (Point, Channel, TimeStamp), its old twin index dropped."""
    key = _index_columns(cur, "ChannelMinute", "PRIMARY")
    if key == MINUTE_KEY:
        return []
    changes = ["DROP PRIMARY KEY", f"ADD PRIMARY KEY ({', '.join(f'`{c}`' for c in MINUTE_KEY)})"]
    if _index_columns(cur, "ChannelMinute", OLD_MINUTE_INDEX):
        changes.append(f"DROP KEY `{OLD_MINUTE_INDEX}`")
    cur.execute(f"ALTER TABLE `ChannelMinute` {', '.join(changes)}")
    return [
        f"ALTER TABLE ChannelMinute: primary key ({', '.join(key)}) -> ({', '.join(MINUTE_KEY)})"
    ]


def _fill_hours(cur) -> list[str]:
    cur.execute("SELECT 1 FROM `CorcyPowerSchema` WHERE `Step` = %s", (HOURS_FILLED,))
    if cur.fetchone() is not None:
        return []
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # locking reads below
    cur.execute("START TRANSACTION")
    columns = ", ".join(f"`{c}`" for c in HOUR_COLUMNS)
    sums = ", ".join(f"SUM(`{c}`)" for c in HOUR_COLUMNS)
    updates = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in (*HOUR_COLUMNS, "MinW", "MaxW"))
    cur.execute(
        f"""INSERT INTO `ChannelHour` (`TimeStamp`, `Point`, `Channel`, {columns}, `MinW`, `MaxW`)
            SELECT DATE_FORMAT(`TimeStamp`, '%Y-%m-%d %H:00:00') AS `Hour`, `Point`, `Channel`,
                   {sums}, MIN(`MinW`), MAX(`MaxW`)
            FROM `ChannelMinute` GROUP BY `Point`, `Channel`, `Hour`
            LOCK IN SHARE MODE
            ON DUPLICATE KEY UPDATE {updates}"""
    )
    cur.execute(
        "INSERT INTO `CorcyPowerSchema` (`Step`, `DoneAt`) VALUES (%s, UTC_TIMESTAMP())",
        (HOURS_FILLED,),
    )
    cur.execute("COMMIT")
    cur.execute("SELECT count(*) FROM `ChannelHour`")
    return [f"ChannelHour filled from the minutes already there ({cur.fetchone()[0]} hours)"]


def _index_columns(cur, table: str, index: str) -> tuple[str, ...]:
    cur.execute(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = %s AND INDEX_NAME = %s ORDER BY SEQ_IN_INDEX",
        (table, index),
    )
    return tuple(r[0] for r in cur.fetchall())
