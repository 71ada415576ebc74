"""One writer per database: an exclusive lock on a file beside it (power.db.lock).

Two daemons on one file each skip the other's batches as "already covered" and both claim
them, so the daemon, `simulate`, `import` and `rebuild` take this lock before they write.
flock(2) is held by the open file, so the kernel releases it when the process ends, even by
kill -9: a stale lock file is harmless, and is never deleted (deleting it would race with
the next taker). It holds the holder's pid and command, for the error the next one prints.
The lock is on a file of its own, not on power.db, because sqlite's own fcntl locks on
power.db are dropped by any close() of that file in the process.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corcypower.errors import DatabaseBusy, StoreError
from corcypower.store.database import Database


class WriterLock:
    """Held from construction until release() (or the end of a `with`, or of the process)."""

    def __init__(self, db_path: str | Path, what: str):
        self.db_path = Path(db_path)
        self.path = Path(f"{db_path}.lock")
        self.what = what
        self.fd: int | None = None
        self.identity: tuple[int, int] | None = None
        self.take()

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def take(self) -> None:
        """Lock (again, if the file was deleted meanwhile); DatabaseBusy if someone else has it."""
        self.release()
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise DatabaseBusy(
                f"{self.db_path}: in use by {holder or 'another process'}; only one program may "
                "write it at a time: stop that one first (the daemon: sudo systemctl stop mcpd)"
            ) from None
        try:  # a lock file made by another user may be read-only to us: the lock still holds
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} ({self.what})\n".encode())
        except OSError:
            pass
        st = os.fstat(fd)
        self.fd, self.identity = fd, (st.st_dev, st.st_ino)

    def _open(self) -> int:
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except PermissionError:
                return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create the lock file beside the database ({exc.strerror}); "
                "check that its directory exists and is writable by this user"
            ) from None

    def lost(self) -> bool:
        """The lock file was deleted or replaced (`rm power.db*`): another writer could start."""
        try:
            st = os.stat(self.path)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self.identity

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


@contextmanager
def open_for_writing(path: str | Path, what: str) -> Iterator[Database]:
    """The database, locked for `what` (a command) and opened read-write, for a `with`.

    sqlite errors inside (a full disk, a file damaged under us) become a StoreError naming it.
    """
    with WriterLock(path, what), Database(path) as db:
        try:
            yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: {exc}") from None
