"""The phase balance section: each phase's current against the main fuse, what a household
checks before adding a big load (an EV charger, a heat pump) to a three-phase or split-phase
supply. Shown only when grid channels carry a `phase`.

Per phase (settings/phases.py: the grid channels on it), from the live batches:
- the current: its grid channel's Irms, or with several CTs on one phase the sum of their
  Irms, shown as "≤": the RMS of a sum is at most the sum of the RMS (equal only when the
  currents are in phase), so the sum is an upper bound of the current through the fuse, never
  an underestimate;
- its share of [mains] fuse_amps as a bar (amber from WARN_SHARE, red from 100 %), with a
  mark at the highest current of the last PEAK_HOURS;
- the power; the highest 1-minute RMS current of the last PEAK_HOURS, from the rollups
  (rollup_1m, on a query thread: the same sum per phase as the view power_minute_phase, a
  minute missing one of the phase's channels left out); the headroom: the fuse less the
  higher of now and that peak.
Then the imbalance (largest less smallest phase current) and the phase with most headroom.

One Div. A batch replaces its content in place (Page.redrawn_div, as the live numbers are),
so new numbers twice a second do not make Bokeh lay the whole page out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from bokeh.layouts import column

from corcypower.clock import age_text
from corcypower.dashboard import cards
from corcypower.dashboard.app import QueryFailed
from corcypower.dashboard.data import clock_text
from corcypower.dashboard.section import Section
from corcypower.live.phases import group_total
from corcypower.settings.phases import grid_by_phase

WARN_SHARE = 0.8  # of the fuse: amber from here, red from 1
PEAK_HOURS = 24
REFRESH_MS = 60_000  # the rollups gain a minute a minute (once the daemon commits)
OK_COLOR, WARN_COLOR, OVER_COLOR = "#2b8a3e", "#e67700", "#c92a2a"

STYLE = f"""
.phases {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px; }}
.phase {{ border: 1px solid #ddd; border-radius: 8px; padding: 6px 10px; min-width: 0; }}
.phase .line {{ display: flex; justify-content: space-between; align-items: baseline; gap: 6px; }}
.phase .name {{ font-weight: 600; }}
.phase .amps {{ font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums;
               white-space: nowrap; }}
.phase .watts {{ color: #444; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.phase .bar {{ position: relative; height: 12px; background: #eee; border-radius: 6px;
              margin: 4px 0; overflow: hidden; }}
.phase .fill {{ height: 100%; background: {OK_COLOR}; border-radius: 6px; }}
.phase.warn .fill {{ background: {WARN_COLOR}; }}
.phase.over .fill {{ background: {OVER_COLOR}; }}
.phase .peak {{ position: absolute; top: 0; width: 2px; height: 100%; background: #333; }}
.phase .small {{ color: #444; font-size: 0.8em; font-variant-numeric: tabular-nums; }}
.phase.over .headroom {{ color: {OVER_COLOR}; font-weight: 600; }}
.balance .summary {{ margin-top: 6px; }}
.balance .unset {{ color: #555; font-size: 0.85em; margin-top: 4px; }}
.balance.stale .phase, .balance.stale .phase .amps, .balance.stale .watts {{ color: #999;
    border-color: #e5e5e5; background: #f6f6f6; }}
.balance.stale .fill {{ background: #bbb !important; }}
.balance.stale .status {{ color: #b35c00; font-weight: 600; }}
"""

# The highest 1-minute current of each phase since a time: the grid channels' Irms added per
# minute (as the view power_minute_phase adds them), minutes missing one of them left out.
PEAKS_SQL = """
WITH members AS (SELECT phase, count(*) AS n FROM channel
                 WHERE kind = 'current' AND grid = 1 AND phase IS NOT NULL GROUP BY phase),
     minutes AS (SELECT r.ts, c.phase, sum(r.rms) AS amps, count(*) AS n
                 FROM rollup_1m AS r JOIN channel AS c ON c.id = r.channel_id
                 WHERE c.kind = 'current' AND c.grid = 1 AND c.phase IS NOT NULL
                   AND r.ts >= ? AND r.rms IS NOT NULL
                 GROUP BY r.ts, c.phase)
SELECT m.phase, max(m.amps) AS amps, m.ts
FROM minutes AS m JOIN members USING (phase)
WHERE m.n = members.n
GROUP BY m.phase
"""


@dataclass(frozen=True)
class PhaseNow:
    """One phase in one batch: its grid channels added up (None: one of them unknown)."""

    phase: str
    amps: float | None
    watts: float | None
    channels: int  # CTs added: with more than one, amps is an upper bound


@dataclass(frozen=True)
class Peak:
    amps: float
    ts: int  # start of the minute, ms UTC


def live_phases(batch: dict, groups: dict[str, tuple[str, ...]]) -> list[PhaseNow]:
    """Each phase of `groups` (grid_by_phase) in the batch, in their order."""
    out = []
    for phase, names in groups.items():
        total = group_total(batch["channels"], names, None)
        out.append(PhaseNow(phase, total["irms"], total["real_power_w"], len(names)))
    return out


def read_peaks(db, now_ms: int, hours: float = PEAK_HOURS) -> dict[str, Peak]:
    """The highest 1-minute RMS current of each phase in the last `hours` (an old database
    without phases: none)."""
    columns = {r["name"] for r in db.query("PRAGMA table_info(channel)")}
    if "phase" not in columns:
        return {}
    since = now_ms - round(hours * 3_600_000)
    return {r["phase"]: Peak(r["amps"], r["ts"]) for r in db.query(PEAKS_SQL, (since,))}


def imbalance(phases: list[PhaseNow]) -> tuple[float, str, str] | None:
    """(largest less smallest current, the largest's phase, the smallest's), or None with
    fewer than two phases or one unknown."""
    if len(phases) < 2 or any(p.amps is None for p in phases):
        return None
    high = max(phases, key=lambda p: p.amps)
    low = min(phases, key=lambda p: p.amps)
    return high.amps - low.amps, high.phase, low.phase


def headroom(fuse_amps: float, now: PhaseNow, peak: Peak | None) -> float | None:
    """The fuse less the higher of the current now and the peak (None: no fuse, or unknown)."""
    if not fuse_amps or now.amps is None:
        return None
    return fuse_amps - max(now.amps, peak.amps if peak else 0.0)


def _amps(value: float | None, bound: bool = False) -> str:
    if value is None:
        return "–"
    return f"{'≤ ' if bound else ''}{value:.1f} A"


def _phase_html(now: PhaseNow, peak: Peak | None, fuse_amps: float, tz: tzinfo) -> str:
    share = now.amps / fuse_amps if fuse_amps and now.amps is not None else None
    css = ""
    if share is not None:
        css = "over" if share >= 1 else "warn" if share >= WARN_SHARE else ""
    when = datetime.fromtimestamp(peak.ts / 1000, tz).strftime("%H:%M") if peak else ""
    peak_text = f"{PEAK_HOURS} h peak {_amps(peak.amps)} at {when}" if peak else "no peak yet"
    bar = ""
    if fuse_amps:
        fill = f'<div class="fill" style="width: {min(share or 0.0, 1.0) * 100:.1f}%"></div>'
        mark = ""
        if peak:
            mark = f'<div class="peak" style="left: {min(peak.amps / fuse_amps, 1.0) * 99:.1f}%"></div>'
        bar = f'<div class="bar">{fill}{mark}</div>'
        room = headroom(fuse_amps, now, peak)
        if room is None:
            room_text = "headroom –"
        elif room >= 0:
            room_text = f"headroom {room:.1f} A"
        else:
            room_text = f"over the fuse by {-room:.1f} A"
        share_text = "–" if share is None else f"{share * 100:.0f} %"
        first = f'{share_text} of {fuse_amps:g} A · <span class="headroom">{room_text}</span>'
    else:
        first = f"{now.channels} CTs added" if now.channels > 1 else "1 CT"
    return (
        f'<div class="phase {css}"><div class="line"><span class="name">{escape(now.phase)}</span>'
        f'<span class="amps">{_amps(now.amps, now.channels > 1)}</span>'
        f'<span class="watts">{cards.watts_text(now.watts)}</span></div>{bar}'
        f'<div class="small">{first}<br>{peak_text}</div></div>'
    )


def balance_html(
    phases: list[PhaseNow],
    peaks: dict[str, Peak],
    fuse_amps: float,
    tz: tzinfo,
    status: str = "",
    stale: bool = False,
) -> str:
    """The phases as cards with their bars, the imbalance, the most headroom, `status`."""
    cells = "".join(_phase_html(p, peaks.get(p.phase), fuse_amps, tz) for p in phases)
    spread = imbalance(phases)
    summary = []
    if spread is not None:
        summary.append(f"Imbalance {spread[0]:.1f} A ({escape(spread[1])} − {escape(spread[2])})")
    rooms = [(headroom(fuse_amps, p, peaks.get(p.phase)), p.phase) for p in phases]
    rooms = [(room, phase) for room, phase in rooms if room is not None]
    if rooms:
        room, phase = max(rooms)
        summary.append(f"most headroom: {max(room, 0.0):.1f} A on {escape(phase)}")
    unset = ""
    if not fuse_amps:
        unset = (
            '<div class="unset">Main fuse rating not set: <code>fuse_amps = 63</code> (amps per '
            "phase) under <code>[mains]</code> shows each phase's share and headroom.</div>"
        )
    return (
        f'<div class="balance{" stale" if stale else ""}"><div class="phases">{cells}</div>'
        f'<div class="summary">{" · ".join(summary) or "&nbsp;"}</div>{unset}'
        f'<div class="status">{escape(status)}</div></div>'
    )


class PhasesSection(Section):
    name = "phases_section"

    def layout(self):
        page = self.page
        config = page.app.config
        self.groups = grid_by_phase(config)
        self.fuse_amps = float(config["mains.fuse_amps"])
        self.phases: list[PhaseNow] = [
            PhaseNow(p, None, None, len(n)) for p, n in self.groups.items()
        ]
        self.peaks: dict[str, Peak] = {}
        self.when = ""  # when the last batch was, as the status line says it
        self.age: float | None = None  # seconds without data, once that is stale
        if not self.groups:  # no phases said: nothing to show
            return column(visible=False, sizing_mode="stretch_width")
        heading = "<h3>Phase balance</h3>"
        self.div, self.parts = self.page.redrawn_div(
            "balance", "balance", self.html(), STYLE, heading
        )
        return column(self.div, sizing_mode="stretch_width")

    def html(self) -> str:
        status = self.when
        if self.age is not None:
            status = f"no data for {age_text(self.age)} · {self.when}"
        stale = self.age is not None
        return balance_html(self.phases, self.peaks, self.fuse_amps, self.page.tz, status, stale)

    def draw(self) -> None:
        self.parts.data = {"html": [self.html()]}

    def start(self) -> None:
        if self.groups:
            self.refresh()
            self.page.doc.add_periodic_callback(self.refresh, REFRESH_MS)

    def refresh(self) -> None:
        now = self.page.now_ms()
        self.page.run(lambda db: read_peaks(db, now), self._peaks)

    def _peaks(self, result) -> None:
        if isinstance(result, QueryFailed):
            return  # the peaks stay as they were: the live part needs no database
        self.peaks = result
        self.draw()

    def prepare(self, batches: list[dict]) -> tuple[list[PhaseNow], str] | None:
        if not self.groups:
            return None
        latest = batches[-1]
        return live_phases(
            latest, self.groups
        ), f"last batch {clock_text(latest['ts'], self.page.tz)}"

    def show(self, prepared: tuple[list[PhaseNow], str]) -> None:
        self.phases, self.when = prepared
        self.age = None
        self.draw()

    def tick(self, seconds_since_data: float | None) -> None:
        """Numbers that stopped changing are greyed, with how old they are (as the cards)."""
        if not self.groups or not self.when or seconds_since_data is None:
            return
        if seconds_since_data >= self.page.view.stale_s:
            self.age = seconds_since_data
            self.draw()
