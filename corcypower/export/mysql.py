"""The central MySQL/MariaDB: connect with timeouts, create the tables, upsert rows.

Upserts set values, never add (`ON DUPLICATE KEY UPDATE col = <the new value>`), so sending a
row twice leaves the same row: the exporter can always re-send after a crash. MySQL >= 8.0.19
and MariaDB spell the new value differently (and MySQL 8.0.20 deprecates MariaDB's spelling):

    MySQL >= 8.0.19   INSERT ... VALUES (...), (...) AS new ON DUPLICATE KEY UPDATE c = new.c
    MariaDB, MySQL 5  INSERT ... VALUES (...), (...) ON DUPLICATE KEY UPDATE c = VALUES(c)

A row the server refuses (a constraint, a NULL) is found by halving the failed batch and set
aside; the rest commit. Any other error (network, timeout, password, missing table) is an
ExportError whose text says what to check; the caller retries later.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo

import pymysql

from corcypower.errors import ExportError
from corcypower.export import schema
from corcypower.export.config import ExportSettings
from corcypower.export.tables import COLUMNS, KEYS, Record, Rejected

log = logging.getLogger(__name__)

# Errors about one row's values: that row is set aside, the others go on.
ROW_ERRORS = {
    1048,  # column cannot be null
    1062,  # duplicate entry (cannot happen with an upsert on the primary key)
    1263,  # NULL supplied to a NOT NULL column
    1264,  # out of range
    1265,  # data truncated
    1292,  # incorrect datetime/double value
    1366,  # incorrect value
    1367,  # illegal double value
    1406,  # data too long
    1441,  # datetime overflow
    1690,  # value out of range
    3819,  # MySQL: check constraint violated
    4025,  # MariaDB: check constraint failed
}
# Strict: a value that does not fit is an error, never silently clipped to fit.
SQL_MODE = "TRADITIONAL"


def dialect(version: str) -> str:
    """ "mysql8" (`AS new` alias) for MySQL >= 8.0.19, else "values" (MariaDB, older MySQL)."""
    if "mariadb" in version.lower():
        return "values"
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    return "mysql8" if m and tuple(map(int, m.groups())) >= (8, 0, 19) else "values"


def upsert_sql(table: str, rows: int, dialect_name: str) -> str:
    """One INSERT of `rows` rows that overwrites the non-key columns of rows already there."""
    columns = COLUMNS[table]
    names = ", ".join(f"`{c}`" for c in columns)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    values = ", ".join([row] * rows)
    updates = [c for c in columns if c not in KEYS[table]]
    if dialect_name == "mysql8":
        sets = ", ".join(f"`{c}` = new.`{c}`" for c in updates)
        return (
            f"INSERT INTO `{table}` ({names}) VALUES {values} AS new ON DUPLICATE KEY UPDATE {sets}"
        )
    sets = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in updates)
    return f"INSERT INTO `{table}` ({names}) VALUES {values} ON DUPLICATE KEY UPDATE {sets}"


def connect(s: ExportSettings, **options) -> pymysql.connections.Connection:
    """A connection with the settings' timeouts, strict SQL and utf8mb4, or an ExportError."""
    try:
        return pymysql.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password or "",
            database=s.database,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            write_timeout=s.write_timeout,
            charset="utf8mb4",
            sql_mode=SQL_MODE,
            **options,
        )
    except pymysql.MySQLError as exc:
        raise ExportError(describe(exc, s)) from None


class Central:
    """One connection to the central database, opened on demand and dropped on any error."""

    def __init__(self, settings: ExportSettings):
        self.settings = settings
        self.conn: pymysql.connections.Connection | None = None
        self.version = ""
        self.dialect = "values"

    def connect(self) -> None:
        if self.conn is not None:
            return
        s = self.settings
        self.conn = connect(s, autocommit=False)
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                self.version = cur.fetchone()[0]
        except pymysql.MySQLError as exc:
            self.close()
            raise ExportError(describe(exc, s)) from None
        self.dialect = dialect(self.version)
        log.info("connected to %s (%s)", s.target, self.version)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except pymysql.MySQLError:
                pass  # already gone: closing is all we wanted
            self.conn = None

    def init(self, zone: tzinfo | None = None, default_zone: tzinfo = UTC) -> list[str]:
        """Create the tables and triggers, bring older ones up to date, set the time zone of
        ChannelDay (schema.init); what was done."""
        return self.run(schema.init, zone, default_zone)

    def run(self, step: Callable[..., list[str]], *args) -> list[str]:
        """step(cursor, *args), committed: an administrator's step (schema.init,
        partitions.maintain); what it did. Errors are ExportErrors that say what to check."""
        self.connect()
        try:
            with self.conn.cursor() as cur:
                done = step(cur, *args)
            self.conn.commit()
        except pymysql.MySQLError as exc:
            self.close()
            raise ExportError(describe(exc, self.settings)) from None
        return done

    def write(self, records: Sequence[Record]) -> list[Rejected]:
        """Upsert and commit the records; those the server refuses come back, set aside."""
        if not records:
            return []
        self.connect()
        try:
            with self.conn.cursor() as cur:
                cur.execute(schema.ZONE_RESET)  # the triggers look the zone up afresh
                for table in COLUMNS:
                    rows = [r.values for r in records if r.table == table]
                    if rows:
                        cur.execute(
                            upsert_sql(table, len(rows), self.dialect),
                            [v for row in rows for v in row],
                        )
            self.conn.commit()
            return []
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code not in ROW_ERRORS:
                self.close()  # the connection may be half-broken: start afresh next time
                raise ExportError(describe(exc, self.settings)) from None
            self.conn.rollback()
            if len(records) == 1:
                return [Rejected(records[0], f"MySQL error {code}: {exc.args[1]}")]
        half = len(records) // 2  # find the bad rows by halving; the good halves commit
        return self.write(records[:half]) + self.write(records[half:])


def describe(exc: Exception, s: ExportSettings) -> str:
    """What went wrong, for people: which server, and what to check."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    where = f"MySQL {s.user}@{s.host}:{s.port}/{s.database}"
    if code == 1045:
        return f"{where}: access denied: check [export.mysql] user and the password"
    if code == 1049:
        return (
            f"{where}: there is no database {s.database!r} on the server: create it "
            "(CREATE DATABASE), then run `corcypower mysql init`"
        )
    if code == 1146:
        return f"{where}: {text}: run `corcypower mysql init` to create the tables"
    if code == 1044:
        return (
            f"{where}: user {s.user!r} may not use database {s.database!r}, or it does not exist: "
            f"CREATE DATABASE `{s.database}`; GRANT SELECT, INSERT, UPDATE ON `{s.database}`.* "
            f"TO '{s.user}'@'%'"
        )
    if code in (1142, 1143):
        return (
            f"{where}: permission denied ({text}): GRANT SELECT, INSERT, UPDATE on the database "
            f"to {s.user!r}; `corcypower mysql init` and `partition` need more: run them "
            "as an administrator (--user)"
        )
    if code == 1419:
        return (
            f"{where}: {text}: the server keeps a binary log, so creating the triggers needs "
            "SUPER: run `corcypower mysql init --user` with an administrator (docs/mysql.md)"
        )
    if code in (2003, 2005):
        if any(
            m in text
            for m in ("Name or service not known", "nodename nor servname", "name resolution")
        ):
            return f"{where}: unknown host {s.host!r}: check [export.mysql] host"
        if "timed out" in text:
            return f"{where}: no answer within connect_timeout_seconds = {s.connect_timeout:g}: is the host up?"
        return (
            f"{where}: cannot connect ({text}): is the server running, and are host and port right?"
        )
    if code in (2006, 2013, 0) or isinstance(exc, pymysql.err.InterfaceError | socket.timeout):
        return (
            f"{where}: lost the connection ({text or 'closed'}): the server stopped, restarted "
            f"or took longer than read/write_timeout_seconds = {s.read_timeout:g}/{s.write_timeout:g}"
        )
    return f"{where}: MySQL error {code}: {text}"
