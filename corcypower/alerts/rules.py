"""[[alerts]] tables into Rules: which condition, on what, when, and where it is sent.

The settings loader has checked each key's type; here what the keys name is checked against
the rest of the config (channels, health flags, configured notifiers), with errors that name
the file, the alert and the key, as every config error does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from corcypower.analysis import FLAG_NAMES, flag_names
from corcypower.errors import ConfigError
from corcypower.settings import Config
from corcypower.settings.checks import show

TOTAL = "total"
KINDS = ("power", "flags", "stale", "unreachable")
# what each notifier needs configured, and where it is set
NEEDS = {
    "webhook": (("notify.webhook.url",), "[notify.webhook] url"),
    "ntfy": (("notify.ntfy.url",), "[notify.ntfy] url"),
    "email": (
        ("notify.email.host", "notify.email.from", "notify.email.to"),
        "[notify.email] host, from and to",
    ),
    "mqtt": (("mqtt.host",), "[mqtt] host"),
}
UNREACHABLE_NEEDS = {"mysql": "export.mysql.host", "mqtt": "mqtt.host"}


@dataclass(frozen=True)
class Rule:
    """One alert rule, checked: exactly one condition, on channels that exist."""

    name: str
    kind: str  # one of KINDS
    channel: str | None  # as configured: a channel, "total", or None (flags: every channel)
    channels: tuple[str, ...]  # the channels it watches (summed for a power rule)
    above_w: float | None = None
    below_w: float | None = None
    flags: int = 0  # the health flags' bits (FLAG_NAMES)
    stale_ms: int = 0
    unreachable: str | None = None  # "mysql" or "mqtt"
    unreachable_ms: int = 0
    for_ms: int = 60_000
    active: tuple[int, int] | None = None  # local minutes after midnight, [start, end)
    quiet: tuple[int, int] | None = None
    notify: tuple[str, ...] = ("log",)
    max_per_hour: int = 6

    @property
    def threshold(self) -> float | None:
        """The number the condition compares with, in its unit (W, s or min)."""
        if self.kind == "power":
            return self.above_w if self.above_w is not None else self.below_w
        if self.kind == "stale":
            return self.stale_ms / 1000
        if self.kind == "unreachable":
            return self.unreachable_ms / 60_000
        return None

    def describe(self) -> str:
        """The condition in words: "main above 150 W for 60 s, 01:00-05:00"."""
        what = {
            "power": lambda: f"{self.channel} {_band(self.above_w, self.below_w)}",
            "flags": lambda: (
                f"{self.channel or 'any channel'} flagged {' or '.join(flag_names(self.flags))}"
            ),
            "stale": lambda: f"no batch stored for {self.stale_ms / 1000:g} s",
            "unreachable": lambda: (
                f"{self.unreachable} unreachable for {self.unreachable_ms / 60_000:g} min"
            ),
        }[self.kind]()
        text = f"{what} for {self.for_ms / 1000:g} s"
        if self.active:
            text += f", active {window_text(self.active)}"
        if self.quiet:
            text += f", quiet {window_text(self.quiet)}"
        return text


def _band(above: float | None, below: float | None) -> str:
    if above is not None and below is not None:
        return f"outside {below:g}..{above:g} W"
    return f"above {above:g} W" if above is not None else f"below {below:g} W"


def window_text(window: tuple[int, int]) -> str:
    (h1, m1), (h2, m2) = divmod(window[0], 60), divmod(window[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def in_window(window: tuple[int, int] | None, ts_ms: int) -> bool:
    """Whether local time at ts_ms falls in [start, end) (across midnight when end < start)."""
    if window is None:
        return True
    t = time.localtime(ts_ms / 1000)
    minute = t.tm_hour * 60 + t.tm_min
    start, end = window
    return start <= minute < end if start < end else minute >= start or minute < end


def from_config(config: Config) -> list[Rule]:
    """The config's [[alerts]] as Rules; ConfigError names the alert and key at fault."""
    return [_rule(config, entry) for entry in config.alerts]


def _rule(config: Config, entry: dict[str, Any]) -> Rule:
    label = f"{config.where}: {entry['_label']}"
    kinds = [
        kind
        for kind, keys in (
            ("power", ("above_w", "below_w")),
            ("flags", ("on_flags",)),
            ("stale", ("stale_seconds",)),
            ("unreachable", ("unreachable",)),
        )
        if any(entry[k] is not None for k in keys)
    ]
    if len(kinds) != 1:
        found = f"it has {' and '.join(kinds)}" if kinds else "it has none"
        raise ConfigError(
            f"{label}: expected exactly one condition: above_w and/or below_w, on_flags, "
            f"stale_seconds or unreachable; {found} (one [[alerts]] table per condition)"
        )
    kind = kinds[0]
    _check_notify(config, entry, label)
    common = {
        "name": entry["name"],
        "kind": kind,
        "for_ms": round(entry["for_seconds"] * 1000),
        "active": entry["active"],
        "quiet": entry["quiet"],
        "notify": tuple(entry["notify"]),
        "max_per_hour": entry["max_per_hour"],
    }
    if kind in ("stale", "unreachable") and entry["channel"] is not None:
        raise ConfigError(f"{label}.channel: a {kind} alert is about the device, not a channel")
    if kind == "power":
        return Rule(**common, **_power(config, entry, label))
    if kind == "flags":
        return Rule(**common, **_flags(config, entry, label))
    if kind == "stale":
        return Rule(
            **common, channel=None, channels=(), stale_ms=round(entry["stale_seconds"] * 1000)
        )
    server = entry["unreachable"]
    if config.values.get(UNREACHABLE_NEEDS[server]) is None:
        raise ConfigError(
            f'{label}.unreachable = "{server}": {server} is not configured '
            f"([{UNREACHABLE_NEEDS[server].rpartition('.')[0]}] host is not set)"
        )
    return Rule(
        **common,
        channel=None,
        channels=(),
        unreachable=server,
        unreachable_ms=round(entry["unreachable_minutes"] * 60_000),
    )


def _channels(config: Config, name: str | None, label: str, currents_only: bool):
    currents = [c.name for c in config.channels if c.kind == "current"]
    allowed = currents if currents_only else [c.name for c in config.channels]
    if name == TOTAL:
        return config.grid_channels
    if name not in allowed:
        what = "current channel" if currents_only else "channel"
        known = ", ".join(f'"{n}"' for n in [*allowed, TOTAL]) or "none configured"
        raise ConfigError(f'{label}.channel = {show(name)}: expected a {what} or "total" ({known})')
    return (name,)


def _power(config: Config, entry: dict[str, Any], label: str) -> dict[str, Any]:
    above, below = entry["above_w"], entry["below_w"]
    if entry["channel"] is None:
        raise ConfigError(f'{label}: missing key channel (a current channel\'s name or "total")')
    if above is not None and below is not None and not below < above:
        raise ConfigError(
            f"{label}: below_w = {below:g} and above_w = {above:g}: with both, the alert fires "
            "outside below_w..above_w, so below_w must be less than above_w"
        )
    return {
        "channel": entry["channel"],
        "channels": _channels(config, entry["channel"], label, currents_only=True),
        "above_w": above,
        "below_w": below,
    }


def _flags(config: Config, entry: dict[str, Any], label: str) -> dict[str, Any]:
    bits = {name: bit for bit, name in FLAG_NAMES.items()}
    wanted = entry["on_flags"]
    unknown = [f for f in wanted if f not in bits]
    if unknown or not wanted:
        raise ConfigError(
            f"{label}.on_flags = {show(wanted)}: expected health flags among "
            + ", ".join(f'"{n}"' for n in bits)
        )
    channel = entry["channel"]
    channels = (
        tuple(c.name for c in config.channels)
        if channel is None
        else _channels(config, channel, label, currents_only=False)
    )
    mask = 0
    for f in wanted:
        mask |= bits[f]
    return {"channel": channel, "channels": channels, "flags": mask}


def _check_notify(config: Config, entry: dict[str, Any], label: str) -> None:
    for target in entry["notify"]:
        if target not in NEEDS:
            continue
        keys, where = NEEDS[target]
        if any(config.values.get(k) is None for k in keys):
            raise ConfigError(f'{label}.notify = {entry["notify"]!r}: "{target}" needs {where} set')
