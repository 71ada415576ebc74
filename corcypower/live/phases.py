"""Per-phase totals and the whole house, from one batch's channels: /api/v1/state's
`phases` and `house` (settings/phases.py says which channels count)."""

from __future__ import annotations

import math


def group_total(channels: list[dict], names: tuple[str, ...], energy: dict | None) -> dict:
    """The channels `names` of one batch added up: real power (None when one is unknown: a
    total is never a partial sum), Irms (the sum of the CTs' RMS: exact for one CT a phase,
    an upper bound for several), cumulative kWh when known."""
    by_name = {c["name"]: c for c in channels}
    found = [by_name.get(n, {}) for n in names]
    watts = [c.get("real_power_w") for c in found]
    amps = [c.get("irms") for c in found]
    known = lambda xs: all(x is not None and math.isfinite(x) for x in xs)  # noqa: E731
    out = {
        "channels": list(names),
        "real_power_w": sum(watts) if known(watts) else None,
        "irms": sum(amps) if known(amps) else None,
    }
    if energy is not None:
        parts = [energy.get(n, (0.0, 0.0)) for n in names]
        out["energy_import_kwh"] = round(sum(p[0] for p in parts), 3)
        out["energy_export_kwh"] = round(sum(p[1] for p in parts), 3)
    return out


def phase_totals(
    channels: list[dict], phases: dict[str, tuple[str, ...]], grid: tuple[str, ...], energy
) -> dict:
    """{"phases": {phase: total}, "house": total of every grid channel}; {} with no phases."""
    if not phases:
        return {}
    return {
        "phases": {p: group_total(channels, names, energy) for p, names in phases.items()},
        "house": group_total(channels, grid, energy),
    }
