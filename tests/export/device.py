"""A device for the export tests: a config, a power.db, and ways to fill it.

`emulate(seconds)` runs the real daemon code on the emulated chip (analysis, store, rollups)
on a FakeClock; `write(...)` stores synthetic batches of known power through the store's own
write path, for analytic answers and long spans of time.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from corcypower import settings
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.export.config import from_config
from corcypower.store.batches import Batches
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.export.mariadb import PASSWORD, USER

START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a minute boundary
CHANNELS = [
    {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02, "voltage": "mains_v"},
    {"name": "solar", "adc_channel": 2, "kind": "current", "scale": 0.02, "voltage": "mains_v"},
]


def channels_toml(channels=CHANNELS) -> str:
    """The [[channels]] tables of a config file."""
    return "".join(
        "[[channels]]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in c.items())
        for c in channels
    )


class Device:
    """One monitoring device ("point") with its own power.db, exporting to `server`/`database`."""

    def __init__(self, directory: Path, point: str, server=None, database="x", **mysql):
        directory.mkdir(parents=True, exist_ok=True)
        self.db_path = directory / "power.db"
        export = {"point": point, "user": USER, "password": PASSWORD, "database": database}
        if server is not None:
            export |= {"host": server.host, "port": server.port}
        export |= {"connect_timeout_seconds": 5.0, "read_timeout_seconds": 10.0} | mysql
        self.config = settings.from_dict(
            {
                "adc": {"chip": "emulated"},
                "emulator": {"seed": len(point)},
                "store": {"path": str(self.db_path)},
                "export": {"mysql": export},
                "channels": CHANNELS,
            }
        )
        with Database(self.db_path) as db:
            self.ids = register_channels(db, self.config.channels, "emulated", START_MS)

    def config_file(self, host, port, database, password=PASSWORD, mode=0o600, timeout=1) -> Path:
        """A config.toml for the CLI and `corcypower run`, the password in a file beside it.

        Timeouts are short (a silent server is found quickly); a test whose statements take
        the server a while on a loaded machine (ALTER TABLE ... PARTITION) passes more."""
        pw = self.db_path.parent / "mysql-password"
        pw.write_text(password + "\n")
        pw.chmod(0o600)
        channels = channels_toml()
        path = self.db_path.parent / "config.toml"
        path.write_text(
            f"""[adc]
chip = "emulated"

[store]
path = "{self.db_path}"
commit_seconds = 0.5

[api]
port = 0

[export.mysql]
host = "{host}"
port = {port}
database = "{database}"
user = "{USER}"
password_file = "mysql-password"
point = "garage"
interval_seconds = 1
connect_timeout_seconds = {timeout}
read_timeout_seconds = {timeout}
write_timeout_seconds = {timeout}

{channels}"""
        )
        path.chmod(mode)
        return path

    @property
    def settings(self):
        return from_config(self.config)

    def exporter(self, **kwargs):
        from corcypower.export.exporter import Exporter  # PyMySQL: only where it is needed

        return Exporter(self.settings, self.db_path, FakeClock(), rand=lambda: 0.5, **kwargs)

    def emulate(self, seconds: float, start_ms: int = START_MS) -> None:
        """The daemon's own acquisition, analysis and store, for `seconds` of emulated time."""
        clock = FakeClock(wall_ms=start_ms)
        daemon = Daemon(self.config, clock)
        daemon.open_store()
        done = 0
        while done < seconds * 2:
            for raw in daemon.acquisition.read_once():
                daemon.process(raw)
                done += 1
        daemon.writer.flush()
        daemon.close_store()

    def write(self, start_ms: int, minutes: float, watts: dict[str, float], batch_ms=10_000):
        """Batches of constant power per channel, from start_ms on, through write_rows."""
        ends = start_ms + batch_ms * np.arange(1, int(minutes * 60_000 / batch_ms) + 1)
        parts = []
        for name, w in watts.items():
            parts.append(
                dict(
                    ts=ends,
                    channel_id=np.full(len(ends), self.ids[name]),
                    duration_ms=np.full(len(ends), batch_ms),
                    n=np.full(len(ends), 1000),
                    mean=np.full(len(ends), 2048.0),
                    min=np.full(len(ends), 1000),
                    max=np.full(len(ends), 3000),
                    rms=np.full(len(ends), 100.0),
                    irms=np.full(len(ends), abs(w) / 230),
                    real_power_w=np.full(len(ends), float(w)),
                    apparent_power_va=np.full(len(ends), abs(w)),
                    power_factor=np.full(len(ends), 1.0 if w >= 0 else -1.0),
                )
            )
        columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        with Database(self.db_path) as db, db.atomic() as conn:
            write_rows(conn, Batches.from_arrays(**columns), int(ends[-1]), Retention())

    @contextmanager
    def edit(self):
        """A write transaction on power.db, as another program (or damage) might make."""
        with Database(self.db_path) as db, db.atomic() as conn:
            yield conn

    def query(self, sql: str, params=()) -> list[tuple]:
        with Database(self.db_path, read_only=True) as db:
            return [tuple(r) for r in db.query(sql, params)]
