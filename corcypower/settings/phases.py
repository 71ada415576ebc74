"""Phases: which supply phase (or split-phase leg) a channel is on, and the totals per phase.

A channel's `phase` is one of PHASES. The per-phase totals are those of the grid channels
([dashboard] grid_channels: the whole house) on each phase, so a sub-circuit's CT tagged
with its phase is not counted twice; the whole house is all the grid channels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corcypower.settings.config import Config

PHASES = ("L1", "L2", "L3", "leg1", "leg2")  # three-phase, then North American split-phase


def grid_by_phase(config: Config) -> dict[str, tuple[str, ...]]:
    """The grid channels on each phase that has any, in the order of PHASES."""
    grid = config.grid_channels
    on = {
        p: tuple(c.name for c in config.channels if c.phase == p and c.name in grid) for p in PHASES
    }
    return {p: names for p, names in on.items() if names}
