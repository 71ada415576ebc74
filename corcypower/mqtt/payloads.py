"""Topics and JSON payloads: what a subscriber (Home Assistant, Node-RED, Telegraf) receives.

    <prefix>/status                  "online" / "offline" (retained; "offline" is also the last will)
    <prefix>/channel/<name>/state    the channel's last batch, as /api/v1/state shows it
    <prefix>/channel/<name>/energy   current channels: kWh imported and exported, committed
    <prefix>/total/state             the grid channels' summed power
    <prefix>/total/energy            the grid channels' summed kWh
    <prefix>/phase/<phase>/state     the grid channels on one phase ("L1".."L3", "leg1", "leg2"): power
    <prefix>/phase/<phase>/energy    and kWh, as the total's

Every message is retained: a subscriber gets the latest at once. Times are ms UTC. Pure
functions of the daemon's values; docs/mqtt.md shows each payload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from corcypower.analysis import ChannelStats
from corcypower.live.ring import channel_dict
from corcypower.store.totals import Energy

ONLINE, OFFLINE = "online", "offline"
NO_ENERGY = Energy(0.0, 0.0)


@dataclass(frozen=True)
class Topics:
    """The topics under one prefix."""

    prefix: str

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    def channel(self, name: str, what: str) -> str:
        """what: "state" or "energy"."""
        return f"{self.prefix}/channel/{name}/{what}"

    def total(self, what: str) -> str:
        return f"{self.prefix}/total/{what}"

    def phase(self, phase: str, what: str) -> str:
        """A phase's total (settings/phases.py): what: "state" or "energy"."""
        return f"{self.prefix}/phase/{phase}/{what}"

    def under(self, *levels: str) -> str:
        """A topic of another part under the prefix, e.g. under("alert", "night-standby")."""
        return "/".join((self.prefix, *levels))


def state(ts: int, s: ChannelStats) -> dict:
    """One channel of one batch: ts (ms UTC, the batch's end), its quantities, its health."""
    unit = "V" if s.kind == "voltage" else "A"  # as in /api/v1/state
    return {"ts": ts, **channel_dict(s), "unit": unit, "ok": not s.flags}


def total_state(ts: int, stats: list[ChannelStats], grid: tuple[str, ...]) -> dict:
    """The grid's power: the sum of the grid channels' real power (W, + drawn, - sent)."""
    watts = [
        s.real_power_w
        for s in stats
        if s.name in grid and s.real_power_w is not None and math.isfinite(s.real_power_w)
    ]
    return {"ts": ts, "real_power_w": sum(watts) if watts else None, "channels": list(grid)}


def energy(until_ms: int | None, e: Energy) -> dict:
    """Cumulative kWh as committed to power.db up to `until_ms` (never goes backwards)."""
    return {"ts": until_ms, "import_kwh": e.import_kwh, "export_kwh": e.export_kwh}


def total_energy(totals: dict[str, Energy], grid: tuple[str, ...]) -> Energy:
    """The grid channels' kWh added up (to the Wh, as energy_total: sums of whole Wh)."""
    parts = [totals.get(name, NO_ENERGY) for name in grid]
    return Energy(
        round(sum(e.import_kwh for e in parts), 3), round(sum(e.export_kwh for e in parts), 3)
    )
