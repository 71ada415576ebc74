"""A real, throwaway MariaDB server in a temporary directory, for the tests and the benchmark.

    server = MariaDB(tmp_dir).start()      # mariadb-install-db, then mariadbd on 127.0.0.1
    MariaDB(tmp_dir, options=["--innodb-buffer-pool-size=1G"])   # more than a test needs
    server.create_database("t1")           # and a user with a password who may write to it
    server.stop(); server.start()          # the same data directory: rows survive
    server.remove()                        # stop and delete everything

It listens on 127.0.0.1 at a free port and on a private socket; nothing of the machine's own
MariaDB (if any) is read or touched (--no-defaults).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

USER = "corcy"
PASSWORD = "s3cret-pw"
SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec")


def find(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=os.pathsep.join(SBIN))


def available() -> bool:
    return bool(find("mariadbd") and find("mariadb-install-db"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    """mariadbd on its own data directory, socket and port; stopped and removed by remove()."""

    def __init__(self, base: Path, port: int | None = None, options: Sequence[str] = ()):
        self.base = Path(base)
        self.datadir = self.base / "data"
        self.socket = self.base / "mysqld.sock"
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.log = self.base / "error.log"
        self.process: subprocess.Popen | None = None
        # small logs and buffers: a test server, not a production one
        self.options = [
            "--no-defaults",
            "--user=root",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.base / 'tmp'}",  # not /tmp: nobody else's files, or cleaning
            "--innodb-log-file-size=16M",
            "--innodb-buffer-pool-size=64M",
            *options,  # the benchmarks' bigger buffers (the last of an option wins)
        ]

    def install(self) -> None:
        (self.base / "tmp").mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                find("mariadb-install-db"),
                *self.options,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{result.stdout}\n{result.stderr}")

    def start(self, timeout: float = 60.0) -> MariaDB:
        import pymysql  # the mysql extra: only where a server is used

        if not self.datadir.exists():
            self.install()
        self.process = subprocess.Popen(
            [
                find("mariadbd"),
                *self.options,
                f"--socket={self.socket}",
                f"--port={self.port}",
                f"--bind-address={self.host}",
                "--skip-networking=0",
                "--skip-name-resolve",
                "--skip-log-bin",
                f"--pid-file={self.base / 'mysqld.pid'}",
                f"--log-error={self.log}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.root().close()
                return self
            except pymysql.MySQLError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = self.log.read_text()[-2000:] if self.log.exists() else ""
                    self.stop()
                    raise RuntimeError(f"mariadbd did not start:\n{tail}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as `systemctl stop mariadb` does."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) mariadbd has used so far: the benchmarks' server cost."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def root(self, database: str | None = None):
        import pymysql

        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            database=database,
            connect_timeout=2,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """A new empty database that USER (password PASSWORD) may use fully."""
        conn = self.root()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
                cur.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
                cur.execute(f"GRANT ALL ON `{name}`.* TO '{USER}'@'%'")
        finally:
            conn.close()
        return name

    def query(self, database: str, sql: str, params=()) -> list[tuple]:
        conn = self.root(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            conn.close()
