"""Query strings of the API: known parameters, each at most once, numbers within bounds.

    params = parse("since=5&wait=2.5", ("since", "wait"), usage="since=MS&wait=S")
    since = whole(params, "since", 0, MAX_MS, "whole milliseconds since the epoch (UTC)")

Every failure is a BadRequest (400) naming the parameter, its value and what was expected.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from corcypower.errors import CorcyPowerError
from corcypower.live.server import BadRequest
from corcypower.times import LAST_MS, parse_time

DECIMAL = re.compile(r"\d{1,15}(\.\d{0,15})?|\.\d{1,15}")  # plain decimals: no nan, inf, 1e9


def parse(text: str, known: tuple[str, ...], usage: str) -> dict[str, str]:
    """The parameters of a query string, by name."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise BadRequest(f"cannot read the query {_shown(text)}; expected {usage}") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in known:
            raise BadRequest(f"unknown parameter {_shown(name)}; expected {_listed(known)}")
        if name in params:
            count = sum(1 for n, _ in pairs if n == name)
            raise BadRequest(f"{name} is given {count} times; expected it once")
        params[name] = value
    return params


def whole(params: dict[str, str], name: str, low: int, high: int, meaning: str) -> int | None:
    """A whole number from low to high, or None if absent."""
    text = params.get(name)
    if text is None:
        return None
    digits = text.lstrip("0") or "0"
    if not (text.isascii() and text.isdigit() and len(digits) <= len(str(high))):
        raise _out_of_bounds(name, text, low, high, meaning)
    value = int(digits)
    if not low <= value <= high:
        raise _out_of_bounds(name, text, low, high, meaning)
    return value


def number(
    params: dict[str, str], name: str, low: float, high: float, meaning: str
) -> float | None:
    """A decimal number (digits and a point) from low to high, or None if absent."""
    text = params.get(name)
    if text is None:
        return None
    if not DECIMAL.fullmatch(text) or not low <= float(text) <= high:
        raise _out_of_bounds(name, text, low, high, meaning)
    return float(text)


def moment(params: dict[str, str], name: str, now_ms: int) -> int | None:
    """A time, or None if absent: whole ms UTC, or what the CLI's --start takes ('now', '-2h',
    ISO 8601, local time without an offset)."""
    text = params.get(name)
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        return whole(params, name, 0, LAST_MS, "whole milliseconds since the epoch (UTC)")
    try:
        return parse_time(text, name, now_ms)
    except CorcyPowerError:
        raise BadRequest(
            f"{name}={_shown(text)}: expected milliseconds since the epoch (UTC), 'now', a time "
            "ago like -2h or -30d, or ISO 8601 like 2026-03-01T18:30Z, from 1970 to 2100"
        ) from None


def names(params: dict[str, str], name: str, most: int) -> list[str] | None:
    """A comma-separated list of distinct names (at most `most`), or None if absent."""
    text = params.get(name)
    if text is None:
        return None
    found = [n.strip() for n in text.split(",")]
    if not all(found) or len(found) > most or len(set(found)) < len(found):
        raise BadRequest(
            f"{name}={_shown(text)}: expected 1 to {most} distinct names separated by commas"
        )
    return found


def _out_of_bounds(name: str, text: str, low: float, high: float, meaning: str) -> BadRequest:
    return BadRequest(f"{name}={_shown(text)}: expected {meaning} from {_num(low)} to {_num(high)}")


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _listed(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _shown(text: str, most: int = 40) -> str:
    return repr(text) if len(text) <= most else repr(text[:most]) + "..."
