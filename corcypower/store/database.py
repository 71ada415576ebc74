"""The sqlite file: open (read-write or read-only), WAL, numbered migrations from schema/sqlite."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from corcypower.errors import ForeignDatabase, StoreError
from corcypower.store.rebuild import rebuild
from corcypower.store.rollups import LEVEL_BY_NAME, LEVELS, regroup

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_\w+\.sql$")
WAL_SIZE_LIMIT = 16 * 1024 * 1024
WAL_FILES = ("-wal", "-shm")  # beside the database while a connection has it open


def _rebuild_history(conn: sqlite3.Connection) -> None:
    """Version 2 adds spans and rollups: fill them from the raw rows a version 1 file holds."""
    rebuild(conn, levels=tuple(level for level in LEVELS if level.name != "6h"))  # 6h: in 4


def _fill_six_hours(conn: sqlite3.Connection) -> None:
    """Version 4 adds the 6-hour level: six hourly buckets make one."""
    regroup(conn, LEVEL_BY_NAME["1h"], LEVEL_BY_NAME["6h"])


# Steps in Python that complete a migration, run in its transaction after its SQL.
PYTHON_STEPS = {2: _rebuild_history, 4: _fill_six_hours}


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration, in order."""
    found = []
    for entry in resources.files("corcypower.schema").joinpath("sqlite").iterdir():
        m = MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version() -> int:
    return migrations()[-1][0]


@contextmanager
def transaction(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE … COMMIT on a connection in autocommit mode; any error rolls it back.

    A COMMIT can fail too (SQLITE_FULL while writing the WAL, SQLITE_BUSY): sqlite then
    leaves the transaction open, so it is rolled back here and the caller may retry.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class Database:
    """One sqlite file. The daemon holds the only read-write one; everything else reads.

    `Database(path)` creates and migrates; `Database(path, read_only=True)` never writes
    (it opens `file:...?mode=ro`). Use as a context manager, or call close().
    """

    def __init__(self, path: str | Path, read_only: bool = False, timeout: float = 30.0):
        self.path = Path(path)
        self.read_only = read_only
        self.conn: sqlite3.Connection | None = None
        try:
            self._open(timeout)
        except (sqlite3.DatabaseError, OSError, StoreError) as exc:
            if self.conn is not None:
                self.conn.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"{self.path}: {_reason(exc, read_only)}") from None
        # which files the connection holds: the path may later be deleted or replaced
        self.identity = None if read_only else _identity(self.path)
        self.companions = {} if read_only else {s: _maybe_identity(self.wal(s)) for s in WAL_FILES}

    def _open(self, timeout: float) -> None:
        if self.read_only:
            if not self.path.exists():
                raise StoreError(f"{self.path}: no such database (has the daemon run yet?)")
            uri = f"file:{self.path.resolve()}?mode=ro"
            self.conn = sqlite3.connect(
                uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        self.conn.row_factory = sqlite3.Row
        self._check_ours()
        if not self.read_only:
            # WAL: readers never block the writer; switched on once, outside a transaction
            self.conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit survives a power cut. Commits are rare (commit_seconds), so the
            # extra fsync costs the SD card nothing measurable.
            self.conn.execute("PRAGMA synchronous = FULL")
            # Debian builds sqlite with secure_delete on: every retention delete would
            # also overwrite the freed rows with zeros, writing the SD card for nothing
            self.conn.execute("PRAGMA secure_delete = OFF")
            # a big import or rebuild grows the WAL; give the space back after a checkpoint
            self.conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        self.conn.execute("PRAGMA foreign_keys = ON")
        if not self.read_only:
            self.migrate()
            # sqlite opens a file it may not write read-only without a word, and fails only at
            # the first write, wherever that is: a write of nothing now says it here
            self.conn.execute(f"PRAGMA user_version = {self.version()}")

    def _check_ours(self) -> None:
        """Refuse a sqlite file CorcyPower did not make, before anything is written into it."""
        version = self.version()
        if version > schema_version():
            raise ForeignDatabase(
                f"{self.path}: schema version {version} is newer than this program knows ({schema_version()}); upgrade corcypower"
            )
        if version > 0:
            return
        tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")]
        if not tables and not self.read_only:
            return  # an empty file: a new database
        hint = (
            "; it looks like the original CorcyPower's power.db: `corcypower import` reads it"
            if "adc" in tables
            else ""
        )
        raise ForeignDatabase(
            f"{self.path}: not a CorcyPower database (no schema version"
            + (f"; it holds {', '.join(sorted(tables)[:5])}" if tables else "")
            + f"){hint}"
        )

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def wal(self, suffix: str = "-wal") -> Path:
        return self.path.with_name(self.path.name + suffix)

    def abandon(self) -> None:
        """Close a connection whose file was deleted or replaced, and remove its WAL files.

        sqlite leaves the WAL and shared memory of a file that has moved where they are; a
        connection opening the path next would apply the old file's pages to the new one.
        Only the files this connection opened are removed (same inode), nothing of the new.
        """
        self.close()
        for suffix, identity in self.companions.items():
            path = self.wal(suffix)
            if identity is not None and _maybe_identity(path) == identity:
                path.unlink(missing_ok=True)

    def replaced(self) -> str | None:
        """How the path stopped being the file this connection writes, or None if it still is.

        `rm power.db*` (or a backup copied over it) leaves the connection writing a file
        nobody will ever read again; the writer asks before each commit.
        """
        if self.identity is None:
            return None
        try:
            now = _identity(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return "was deleted"
        except OSError:
            return None  # unreadable for now (a failing card): the commit will tell
        return None if now == self.identity else "was replaced by another file"

    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def atomic(self):
        """One transaction: everything inside commits together or not at all."""
        return transaction(self.conn)

    def migrate(self) -> list[str]:
        """Apply the migrations newer than the file, each in its own transaction."""
        applied = []
        current = self.version()
        upgrade = current > 0  # a new file is simply created
        for version, name, sql in migrations():
            if version <= current:
                continue
            if upgrade:
                log.info("%s: upgrading from schema version %d: %s", self.path, current, name)
            try:
                self.conn.executescript(f"BEGIN IMMEDIATE;\n{sql}")
                if version in PYTHON_STEPS:
                    PYTHON_STEPS[version](self.conn)
                self.conn.execute(f"PRAGMA user_version = {version}")
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: migration {name} failed: {exc}") from None
            applied.append(name)
            current = version
        return applied

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _maybe_identity(path: Path) -> tuple[int, int] | None:
    try:
        return _identity(path)
    except OSError:
        return None


def _reason(exc: BaseException, read_only: bool) -> str:
    """An OSError or sqlite error as words, with what to check where it is a common mistake."""
    if isinstance(exc, OSError):
        return f"cannot create its directory ({exc.strerror or exc})"
    text = str(exc)
    if read_only and ("readonly" in text or "unable to open" in text):
        return (
            f"cannot read it ({text}): a reader needs to read the file and, while the daemon "
            "is stopped, to create its -shm file beside it; run as the daemon's user, or sudo"
        )
    if "readonly" in text or "unable to open" in text:
        return f"{text} (check that the file and its directory exist and are writable by this user)"
    if "not a database" in text or "malformed" in text:
        return f"{text} (not a CorcyPower database, or a damaged one)"
    return text
