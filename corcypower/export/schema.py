"""The central tables, created and brought up to date by `corcypower mysql init`.

Every step looks before it acts, so init can run again and again: on an empty database, on
EnergyMonitor's own (its VolumeData keeps its rows and columns), or on one made by an older
CorcyPower. The steps, in order:

1. the tables of schema/mysql/tables.sql (CREATE TABLE IF NOT EXISTS);
2. older tables brought up to date: VolumeData's Point widened to 64 characters and its index
   (Point, TimeStamp) added if missing; ChannelMinute's primary key moved from (TimeStamp,
   Point, Channel) to (Point, Channel, TimeStamp) (a rebuild of the table: docs/mysql.md);
3. the triggers that keep the summaries (ChannelQuarter, ChannelHour, ChannelDay), if missing,
   or replaced if an older CorcyPower made them otherwise;
4. once, ChannelQuarter and ChannelHour filled from the minutes already there, each recorded
   in CorcyPowerSchema in the transaction that fills it (if it fails, the next init does it);
5. the time zone of ChannelDay's days, when there is none yet or another is asked for, and
   ChannelDay filled again from the quarter-hours, in one transaction.

The triggers exist before the fills, and the fills read with locks, so a minute written
meanwhile waits, then its trigger adds it: none is missed or counted twice. DDL commits by
itself in MySQL, so the steps are not one transaction; each is safe to repeat.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from importlib import resources

from corcypower.energy.zone import zone_name
from corcypower.export.config import MAX_NAME

MINUTE_KEY = ("Point", "Channel", "TimeStamp")
OLD_MINUTE_INDEX = "PointChannelTimestampIdx"  # (Point, Channel, TimeStamp): now the primary key
VOLUME_INDEX = "PointTimestampIdx"  # EnergyMonitor's own name for it
SUMS = ("ImportWh", "ExportWh", "NumReads", "MeasuredSeconds")
FILLED = "{table} filled from ChannelMinute"  # a step recorded in CorcyPowerSchema
ZONE_YEARS = (1970, 2100)  # the span of CorcyPowerTimeZone


def offset_at(column: str) -> str:
    """SQL: the UTC offset (minutes) of the database's time zone at a UTC datetime."""
    return (
        "COALESCE((SELECT `OffsetMinutes` FROM `CorcyPowerTimeZone` "
        f"WHERE `StartsAt` <= {column} ORDER BY `StartsAt` DESC LIMIT 1), 0)"
    )


# The triggers keep the offset they last looked up, and the span it holds for, in session
# variables (seconds from TO_SECONDS): a batch of minutes looks the zone up about once, not
# once a minute, which cost ~45 % of the server's CPU per minute written (docs/mysql.md#sizing).
# Central.write forgets them at the start of each transaction (ZONE_RESET), so each transaction
# reads CorcyPowerTimeZone as it is then, as without them: a new zone counts at once.
ZONE_VARIABLE = "@corcypower_zone_{}"
ZONE_RESET = f"SET {ZONE_VARIABLE.format('until')} = NULL"


def cached_offset() -> str:
    """Trigger statements: the session's cached offset, looked up again when NEW's minute is
    outside the span it holds for (or nothing is cached)."""
    start, until, offset = (ZONE_VARIABLE.format(n) for n in ("from", "until", "offset"))
    t = "TO_SECONDS(NEW.`TimeStamp`)"
    edge = (
        "(SELECT {f}(`StartsAt`) FROM `CorcyPowerTimeZone` WHERE `StartsAt` {op} NEW.`TimeStamp`)"
    )
    return f"""IF {until} IS NULL OR {t} < {start} OR {t} >= {until} THEN
    SET {start} = COALESCE(TO_SECONDS({edge.format(f="MAX", op="<=")}), 0),
        {until} = COALESCE(TO_SECONDS({edge.format(f="MIN", op=">")}), {10**12}),
        {offset} = {offset_at("NEW.`TimeStamp`")};
  END IF;"""


def bucket(table: str, column: str, offset: str | None = None) -> str:
    """SQL: the key (start, or local day) of the summary row holding a minute's UTC datetime;
    `offset`: an SQL expression of the zone's offset there (default: looked up)."""
    if table == "ChannelDay":
        return f"DATE({column} + INTERVAL {offset or offset_at(column)} MINUTE)"
    minutes = {"ChannelQuarter": 15, "ChannelHour": 60}[table]
    hour = f"DATE_FORMAT({column}, '%Y-%m-%d %H:00:00')"
    return f"{hour} + INTERVAL (MINUTE({column}) DIV {minutes} * {minutes}) MINUTE"


SUMMARIES = {"ChannelQuarter": "TimeStamp", "ChannelHour": "TimeStamp", "ChannelDay": "Day"}

# A minute inserted is added to its quarter, hour and day; a minute sent again (the exporter's
# upsert) adds the difference, usually nothing. A minute deleted stays counted, so minutes can
# be pruned while the summaries are kept. (Sent as one statement: no DELIMITER needed.)
UPSERT = """INSERT INTO `{table}` (`{key}`, `Point`, `Channel`, {sums}, `MinW`, `MaxW`)
    VALUES ({start}, NEW.`Point`, NEW.`Channel`, {values}, NEW.`MinW`, NEW.`MaxW`)
    ON DUPLICATE KEY UPDATE {adds}, `MinW` = LEAST(`MinW`, NEW.`MinW`),
      `MaxW` = GREATEST(`MaxW`, NEW.`MaxW`);"""


def triggers(cache_offset: bool = True) -> dict[str, str]:
    """Trigger name: its CREATE TRIGGER statement, one for inserts and one for updates.

    cache_offset=False: as CorcyPower made them before the offset was cached (looked up for
    every minute), for the benchmark's before and after (bench/mysql_export.py) and the test
    of init's upgrade.
    """
    offset = ZONE_VARIABLE.format("offset") if cache_offset else None
    prelude = f"{cached_offset()}\n  " if cache_offset else ""
    found = {}
    for event in ("INSERT", "UPDATE"):
        values = [f"NEW.`{c}`" + (f" - OLD.`{c}`" if event == "UPDATE" else "") for c in SUMS]
        upserts = [
            UPSERT.format(
                table=table,
                key=key,
                sums=", ".join(f"`{c}`" for c in SUMS),
                start=bucket(table, "NEW.`TimeStamp`", offset),
                values=", ".join(values),
                adds=", ".join(f"`{c}` = `{c}` + {v}" for c, v in zip(SUMS, values, strict=True)),
            )
            for table, key in SUMMARIES.items()
        ]
        name = f"ChannelMinuteSummaries{event.title()}"
        found[name] = (
            f"CREATE TRIGGER `{name}` AFTER {event} ON `ChannelMinute` FOR EACH ROW\n"
            f"BEGIN\n  {prelude}{chr(10).join(upserts)}\nEND"
        )
    return found


def statements(name: str) -> list[str]:
    """The statements of schema/mysql/<name> (comment lines dropped)."""
    text = resources.files("corcypower.schema").joinpath(f"mysql/{name}").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def init(cur, zone: tzinfo | None = None, default_zone: tzinfo = UTC) -> list[str]:
    """Create and upgrade the tables, triggers and summaries through a cursor; what was done.

    `zone`: the time zone of ChannelDay's days, if one is asked for; else the one the database
    has, or, for a database without one, `default_zone`.
    """
    done = []
    for statement in statements("tables.sql"):
        cur.execute(statement)
        done.append(statement.split("(")[0].split(" LIKE ")[0].strip())
    done += _widen_volume_point(cur)
    if not _index_columns(cur, "VolumeData", VOLUME_INDEX):
        cur.execute(f"ALTER TABLE `VolumeData` ADD KEY `{VOLUME_INDEX}` (`Point`, `TimeStamp`)")
        done.append(f"ALTER TABLE VolumeData: index {VOLUME_INDEX} (Point, TimeStamp) added")
    done += _rekey_minutes(cur)
    done += _put_triggers(cur)
    for table in ("ChannelQuarter", "ChannelHour"):
        done += _fill(cur, table)
    cur.execute("SELECT `StartsAt`, `OffsetMinutes`, `Name` FROM `CorcyPowerTimeZone` ORDER BY 1")
    have = [tuple(r) for r in cur.fetchall()]
    want = zone_rows(zone or default_zone)
    if not have or (zone is not None and have != want):
        done += _set_zone(cur, want)
    return done


def _put_triggers(cur) -> list[str]:
    """The triggers created where missing, and replaced where an older CorcyPower's differ.

    MariaDB replaces one in a single step (CREATE OR REPLACE); MySQL has no such step, so a
    minute written between its DROP and CREATE would miss the summaries (docs/mysql.md).
    """
    cur.execute("SELECT VERSION()")
    mariadb = "mariadb" in cur.fetchone()[0].lower()
    done = []
    for name, statement in triggers().items():
        cur.execute(
            "SELECT ACTION_STATEMENT FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = %s",
            (name,),
        )
        found = cur.fetchone()
        if found is None:
            cur.execute(statement)
            done.append(f"CREATE TRIGGER {name}")
        elif found[0] != statement.split("FOR EACH ROW\n", 1)[1]:
            if mariadb:
                cur.execute(statement.replace("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER", 1))
            else:
                cur.execute(f"DROP TRIGGER `{name}`")
                cur.execute(statement)
            done.append(f"CREATE OR REPLACE TRIGGER {name}: the zone's offset kept per session")
    return done


def zone_rows(zone: tzinfo) -> list[tuple[datetime, int, str]]:
    """(UTC datetime from which an offset holds, the offset in minutes, the zone's name)."""
    t = datetime(ZONE_YEARS[0], 1, 1, tzinfo=UTC)
    end = datetime(ZONE_YEARS[1], 1, 1, tzinfo=UTC)

    def minutes(at: datetime) -> int:
        return round(at.astimezone(zone).utcoffset().total_seconds() / 60)

    name = zone_name(zone)
    rows = [(t.replace(tzinfo=None), minutes(t), name)]
    while t < end:
        step = t + timedelta(days=1)  # changes of offset are months apart, never hours
        if minutes(step) != rows[-1][1]:
            low, high = t, step  # find the minute it changes: minutes(low) != minutes(high)
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle -= timedelta(seconds=middle.second, microseconds=middle.microsecond)
                low, high = (middle, high) if minutes(middle) == rows[-1][1] else (low, middle)
            rows.append((high.replace(tzinfo=None), minutes(high), name))
        t = step
    return rows


def _set_zone(cur, rows: list[tuple[datetime, int, str]]) -> list[str]:
    """The zone's offsets, and ChannelDay counted again in its days from the quarter-hours."""
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # locking reads below
    cur.execute("START TRANSACTION")
    cur.execute("DELETE FROM `CorcyPowerTimeZone`")
    cur.executemany(
        "INSERT INTO `CorcyPowerTimeZone` (`StartsAt`, `OffsetMinutes`, `Name`) VALUES (%s, %s, %s)",
        rows,
    )
    cur.execute("DELETE FROM `ChannelDay`")
    _insert_summary(cur, "ChannelDay", "ChannelQuarter")
    cur.execute("COMMIT")
    cur.execute("SELECT count(*) FROM `ChannelDay`")
    return [
        f"ChannelDay: days of {rows[0][2]}, counted from ChannelQuarter ({cur.fetchone()[0]} rows)"
    ]


def _insert_summary(cur, table: str, source: str) -> None:
    """Set the summary's rows from a finer table's, read with locks (shared by the fills)."""
    sums = ", ".join(f"`{c}`" for c in SUMS)
    totals = ", ".join(f"SUM(`{c}`)" for c in SUMS)
    sets = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in (*SUMS, "MinW", "MaxW"))
    cur.execute(
        f"""INSERT INTO `{table}` (`{SUMMARIES[table]}`, `Point`, `Channel`, {sums}, `MinW`, `MaxW`)
            SELECT {bucket(table, "`TimeStamp`")} AS `Start`, `Point`, `Channel`,
                   {totals}, MIN(`MinW`), MAX(`MaxW`)
            FROM `{source}` GROUP BY `Point`, `Channel`, `Start`
            LOCK IN SHARE MODE
            ON DUPLICATE KEY UPDATE {sets}"""
    )


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


def _fill(cur, table: str) -> list[str]:
    """A summary's rows of the minutes already there, set (not added), once."""
    step = FILLED.format(table=table)
    cur.execute("SELECT 1 FROM `CorcyPowerSchema` WHERE `Step` = %s", (step,))
    if cur.fetchone() is not None:
        return []
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # locking reads below
    cur.execute("START TRANSACTION")
    _insert_summary(cur, table, "ChannelMinute")
    cur.execute(
        "INSERT INTO `CorcyPowerSchema` (`Step`, `DoneAt`) VALUES (%s, UTC_TIMESTAMP())", (step,)
    )
    cur.execute("COMMIT")
    cur.execute(f"SELECT count(*) FROM `{table}`")
    return [f"{table} filled from the minutes already there ({cur.fetchone()[0]} rows)"]


def _index_columns(cur, table: str, index: str) -> tuple[str, ...]:
    cur.execute(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = %s AND INDEX_NAME = %s ORDER BY SEQ_IN_INDEX",
        (table, index),
    )
    return tuple(r[0] for r in cur.fetchall())
