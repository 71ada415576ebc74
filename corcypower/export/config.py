"""The [export.mysql] section as the exporter uses it: target, credentials, points.

Only the standard library here: the daemon reads this whether or not PyMySQL is installed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from corcypower.errors import ConfigError
from corcypower.settings import Config, passwords

log = logging.getLogger(__name__)

PASSWORD_ENV = "CORCYPOWER_MYSQL_PASSWORD"
MAX_NAME = 64  # VolumeData.Point and ChannelMinute.Point/Channel are varchar(64)


@dataclass(frozen=True)
class VolumePoint:
    """One EnergyMonitor VolumeData point: the channels it adds up and which way is Supply."""

    name: str
    channels: tuple[str, ...]
    supply: str  # "import": SupplyWh = energy drawn from the grid; "export": the other way


@dataclass(frozen=True)
class ExportSettings:
    """Everything the exporter needs, resolved and checked."""

    host: str
    port: int
    database: str
    user: str
    password: str | None = None
    point: str = "corcypower"
    channels: tuple[str, ...] = ()  # the configured current channels
    volume: tuple[VolumePoint, ...] = ()
    interval_seconds: float = 60.0
    batch_rows: int = 1000
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    retry_max_seconds: float = 300.0
    warnings: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """What the high-water mark is kept for: the same rows sent elsewhere start over."""
        return f"{self.host}:{self.port}/{self.database}/{self.point}"

    def __repr__(self) -> str:  # never print the password
        return f"ExportSettings({self.user}@{self.target})"


def configured(config: Config) -> bool:
    return config["export.mysql.host"] is not None


def from_config(config: Config) -> ExportSettings | None:
    """The export settings, or None when [export.mysql] has no host (export off)."""
    if not configured(config):
        return None
    where = config.where
    point = config.device_name
    if len(point) > MAX_NAME:
        raise ConfigError(
            f"{where}: [export.mysql] point: the host name {point!r} is longer than "
            f"{MAX_NAME} characters; set a shorter point"
        )
    current = tuple(c.name for c in config.channels if c.kind == "current")
    password, warnings = passwords.password(
        config, "export.mysql", PASSWORD_ENV, "the MySQL password"
    )
    for warning in warnings:
        log.warning(warning)
    return ExportSettings(
        host=config["export.mysql.host"],
        port=config["export.mysql.port"],
        database=config["export.mysql.database"],
        user=config["export.mysql.user"],
        password=password,
        point=point,
        channels=current,
        volume=_volume(config["export.mysql.volume"], point, current, where),
        interval_seconds=config["export.mysql.interval_seconds"],
        batch_rows=config["export.mysql.batch_rows"],
        connect_timeout=config["export.mysql.connect_timeout_seconds"],
        read_timeout=config["export.mysql.read_timeout_seconds"],
        write_timeout=config["export.mysql.write_timeout_seconds"],
        retry_max_seconds=config["export.mysql.retry_max_seconds"],
        warnings=tuple(warnings),
    )


def _volume(table: dict, point: str, current: tuple[str, ...], where: str):
    """The VolumeData points: as configured, else one per current channel, "<point>-<channel>"."""
    if not table:
        table = {f"{point}-{c}": {"channels": [c], "supply": "import"} for c in current}
        for name in table:
            if len(name) > MAX_NAME:
                raise ConfigError(
                    f'{where}: [export.mysql] point: the VolumeData point "{name}" would be longer '
                    f"than {MAX_NAME} characters; set a shorter point, or name the points in "
                    "[export.mysql.volume]"
                )
    points = []
    for name, spec in table.items():
        for channel in spec["channels"]:
            if channel not in current:
                known = ", ".join(f'"{c}"' for c in current) or "none configured"
                raise ConfigError(
                    f'{where}: [export.mysql] volume: point "{name}": "{channel}" is not a current '
                    f"channel; expected one of {known}"
                )
        points.append(VolumePoint(name, tuple(spec["channels"]), spec["supply"]))
    return tuple(points)
