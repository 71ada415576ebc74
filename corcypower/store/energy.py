"""Energy per local calendar day, from the 15-minute rollups.

Days are the house's days: from local midnight to local midnight, so the day daylight saving
starts has 23 hours and the day it ends 25. Every time zone's offset is a whole number of
quarter hours, so each local midnight is a 15-minute bucket boundary and a day's energy is
an exact sum of buckets. Local time is the system's (TZ), as the sqlite3 views use it.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from corcypower.store.database import Database
from corcypower.store.queries import channels_of
from corcypower.store.rollups import LEVEL_BY_NAME

DAY_LEVEL = LEVEL_BY_NAME["15m"]


def local_midnight_ms(day: date, tz: tzinfo | None = None) -> int:
    """The UTC ms of the local midnight that starts `day` (tz None: the system's local time)."""
    return round(datetime.combine(day, datetime.min.time(), tzinfo=tz).timestamp() * 1000)


def daily_energy(
    db: Database,
    days: int = 30,
    end_ms: int | None = None,
    channels: list[str] | None = None,
    tz: tzinfo | str | None = None,
) -> pd.DataFrame:
    """Energy per local day of current channels, for the `days` local days up to end_ms (now).

    Columns: day ('YYYY-MM-DD', local calendar day), channel, import_wh, export_wh. A day
    appears once a channel has data in it; the day holding end_ms counts up to now. `tz`
    (a tzinfo or an IANA name) sets whose days; by default the system's, as in the views.
    """
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    end_ms = round(time.time() * 1000) if end_ms is None else end_ms
    last = datetime.fromtimestamp(end_ms / 1000, tz).date()
    day_list = [last - timedelta(days=k) for k in range(max(1, days) - 1, -1, -1)]
    bounds = np.array(
        [local_midnight_ms(d, tz) for d in day_list]
        + [local_midnight_ms(last + timedelta(days=1), tz)]
    )
    names = channels_of(db, channels, kind=None if channels else "current")
    ids = list(names)
    columns = ["day", "channel", "import_wh", "export_wh"]
    if not ids:
        return pd.DataFrame(columns=columns)
    rows = db.query(
        f"""SELECT ts, channel_id, import_wh, export_wh FROM {DAY_LEVEL.table}
            WHERE ts >= ? AND ts < ? AND channel_id IN ({", ".join("?" * len(ids))})
              AND import_wh IS NOT NULL""",
        (int(bounds[0]), int(bounds[-1]), *ids),
    )
    if not rows:
        return pd.DataFrame(columns=columns)
    ts, ch, imp, exp = (np.array(c) for c in zip(*rows, strict=True))
    day = np.searchsorted(bounds, ts.astype(np.int64), side="right") - 1
    df = pd.DataFrame(
        {
            "day": [day_list[k].isoformat() for k in day],
            "channel": [names[c] for c in ch],
            "import_wh": imp.astype(float),
            "export_wh": exp.astype(float),
        }
    )
    return df.groupby(["day", "channel"], as_index=False, sort=True)[
        ["import_wh", "export_wh"]
    ].sum()
