"""Checks of setting values: each returns the normalised value or raises Invalid("expected ...")."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

CIRCUITS = ("house", "solar", "fridge", "kettle", "oven", "washer", "lighting", "standby", "none")


SHOWN_CHARS = 60  # an error message stays one readable line, whatever the value


def show(value: Any) -> str:
    """A value as it is written in TOML, on one line and shortened, for error messages."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)  # quoted, newlines escaped, as in TOML
    elif isinstance(value, list | dict):
        text = _show_container(value)
    else:
        text = repr(value)  # nan and inf are spelled as in TOML
    if len(text) <= SHOWN_CHARS:
        return text
    # cut in the middle: a path's file name, and a string's closing quote, are at its end
    head = (SHOWN_CHARS - 3) // 2
    return text[:head] + "..." + text[head + 3 - SHOWN_CHARS :]


def _show_container(value: list | dict) -> str:
    try:
        return repr(value)
    except RecursionError:  # nested deeper than repr goes
        return "[...]" if isinstance(value, list) else "{...}"


class Invalid(ValueError):
    """A value failed its check; the text says what was expected."""


# --- checks: each returns the normalised value or raises Invalid("expected ...") ---


def choice(*options: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in options or isinstance(value, bool):
            raise Invalid("expected one of " + ", ".join(show(o) for o in options))
        return value

    return check


def number(low: float, high: float, integer: bool = False) -> Callable[[Any], Any]:
    """A number from `low` to `high`: every number setting is finite and bounded."""
    expected = f"expected {'a whole number' if integer else 'a number'} from {low} to {high}"

    def check(value: Any) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            raise Invalid(expected)
        if not low <= value <= high:  # also false for nan
            raise Invalid(expected)
        return value if integer else float(value)

    return check


# A main fuse or breaker: from a 6 A cottage supply to the largest low-voltage breakers (6300 A
# is the top of IEC 60947-2's usual range); 0 says "not set".
FUSE_AMPS = (1.0, 6300.0)


def fuse_rating(value: Any) -> float:
    """0 (not set), or amps from FUSE_AMPS[0] to FUSE_AMPS[1]: never so small that a share of
    it overflows."""
    low, high = FUSE_AMPS
    expected = f"expected 0 (not set) or amps from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(expected)
    if value != 0 and not low <= value <= high:  # also true for nan
        raise Invalid(expected)
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("expected true or false")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid("expected a non-empty string")
    return value


def int_list(low: int, high: int) -> Callable[[Any], list[int]]:
    def check(value: Any) -> list[int]:
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
        ):
            raise Invalid(f"expected a list of whole numbers from {low} to {high}")
        return list(value)

    return check


def circuit_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(v in CIRCUITS for v in value.values()):
        raise Invalid(
            "expected a table of channel name = circuit, circuit one of " + ", ".join(CIRCUITS)
        )
    return dict(value)


def log_level(value: Any) -> str:
    return choice("debug", "info", "warning", "error")(value)


def origins(value: Any) -> list[str]:
    """Websocket origins as a browser sends them: host:port (the port is part of an origin)."""
    ok = isinstance(value, list) and all(
        isinstance(v, str) and (v == "*" or _host_port(v)) for v in value
    )
    if not ok:
        raise Invalid('expected a list of "host:port", e.g. ["192.168.1.20:5006", "pi.local:5006"]')
    return list(value)


def _host_port(text: str) -> bool:
    match = re.fullmatch(r"[^\s/:]+:(\d{1,5})", text)
    return match is not None and 1 <= int(match[1]) <= 65535


def name_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid("expected a list of channel names")
    return list(value)


def time_zone(value: Any) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(text(value))
    except (ValueError, KeyError, OSError):  # not found is a KeyError; a directory, OSError
        raise Invalid('expected a time zone name such as "Europe/Paris"') from None
    return value


URL = re.compile(r"https?://[^\s/]+(/\S*)?")


def http_url(value: Any) -> str:
    expected = 'expected a URL such as "http://127.0.0.1:8070", with a port from 1 to 65535'
    if not isinstance(value, str) or not URL.fullmatch(value):
        raise Invalid(expected)
    try:
        port = urlsplit(value).port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise Invalid(expected) from None
    if port == 0:
        raise Invalid(expected)
    return value.rstrip("/")


MAX_DEVICES = 16  # other devices a dashboard follows: one thread and one connection each
DEVICE_URL = re.compile(r"http://[^\s/?#@]+(/[^\s?#]*)?")


def device_urls(value: Any) -> list[str]:
    """Other devices' state API base URLs (http only, no query): distinct, at most MAX_DEVICES."""
    expected = f'expected a list of at most {MAX_DEVICES} URLs such as "http://garage-pi:8070"'
    if not isinstance(value, list):
        raise Invalid(expected)
    if len(value) > MAX_DEVICES:
        raise Invalid(f"{len(value)} devices: {expected}")
    urls: list[str] = []
    for k, entry in enumerate(value, 1):
        if not _device_url(entry):
            raise Invalid(
                f'entry {k}, {show(entry)}: expected "http://HOST:PORT" (no query or user)'
            )
        url = entry.rstrip("/")
        if url in urls:
            raise Invalid(f"entry {k}, {show(entry)}, is listed twice")
        urls.append(url)
    return urls


def _device_url(entry: Any) -> bool:
    if not isinstance(entry, str) or not entry.isprintable() or not DEVICE_URL.fullmatch(entry):
        return False
    try:
        parts = urlsplit(entry)
        return bool(parts.hostname) and parts.port != 0  # port raises on a bad one
    except ValueError:
        return False


HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}\.?)*")


def host_names(value: Any) -> list[str]:
    """Host names or IP addresses as clients write them in URLs (no port), or "*" for any."""
    ok = isinstance(value, list) and all(
        isinstance(v, str) and (v == "*" or HOST_NAME.fullmatch(v) or _ip_address(v)) for v in value
    )
    if not ok:
        raise Invalid(
            'expected a list of host names or addresses, e.g. ["house-pi.lan", "192.168.1.20"]'
        )
    return [
        str(ipaddress.ip_address(v.strip("[]"))) if _ip_address(v) else v.lower().rstrip(".")
        for v in value
    ]


def _ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def point_name(value: Any) -> str:
    """A point (device) name in the central MySQL database: VolumeData.Point is varchar(64)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise Invalid("expected a name of 1 to 64 printable characters")
    return value


def volume_points(value: Any) -> dict[str, dict[str, Any]]:
    """VolumeData points: Point = "channel" or Point = { channels = [...], supply = "import" }."""
    expected = (
        'expected a table of Point = "channel" or Point = { channels = ["a", "b"], '
        'supply = "import" or "export" }, each Point 1 to 64 characters'
    )
    if not isinstance(value, dict):
        raise Invalid(expected)
    points = {}
    for point, spec in value.items():
        if isinstance(spec, str):
            spec = {"channels": [spec]}
        if (
            not isinstance(spec, dict)
            or not 1 <= len(point) <= 64
            or set(spec) - {"channels", "supply"}
            or spec.get("supply", "import") not in ("import", "export")
        ):
            raise Invalid(f"{point!r}: {expected}")
        channels = spec.get("channels")
        if not isinstance(channels, list) or not channels:
            raise Invalid(f"{point!r}: expected channels = a list of one or more channel names")
        if not all(isinstance(c, str) and c for c in channels):
            raise Invalid(f"{point!r}: expected channels = a list of one or more channel names")
        points[point] = {"channels": list(channels), "supply": spec.get("supply", "import")}
    return points


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_GROUPS = {"weekdays": WEEKDAYS[:5], "weekend": WEEKDAYS[5:], "all": WEEKDAYS}
PERIOD_KEYS = {"name", "price_per_kwh", "start", "end", "days"}


def numbered(label: str, table: Any) -> str:
    """How errors name the n-th table of an array: '[[channels]] #2 ("main")'."""
    if isinstance(table, dict) and isinstance(table.get("name"), str):
        return f'{label} ("{table["name"]}")'
    return label


def time_of_day(value: Any) -> int:
    """ "HH:MM" (00:00 to 24:00) → minutes since local midnight."""
    m = re.fullmatch(r"(\d{2}):(\d{2})", value) if isinstance(value, str) else None
    if not m or int(m[2]) > 59 or int(m[1]) * 60 + int(m[2]) > 1440:
        raise Invalid('expected a time of day "HH:MM" from "00:00" to "24:00"')
    return int(m[1]) * 60 + int(m[2])


def tariff_periods(value: Any) -> list[dict[str, Any]]:
    """Time-of-use periods: [{name, price_per_kwh, start = "HH:MM", end = "HH:MM", days}].

    Normalised to minutes since local midnight (start, end) and weekday numbers (Monday 0).
    """
    if not isinstance(value, list):
        raise Invalid("expected a list of [[tariff.periods]] tables")
    periods = []
    for i, spec in enumerate(value, start=1):
        where = numbered(f"period #{i}", spec)
        if not isinstance(spec, dict):
            raise Invalid(f"{where}: expected a table with name, price_per_kwh, start, end, days")
        unknown = set(spec) - PERIOD_KEYS
        missing = {"name", "price_per_kwh", "start", "end"} - set(spec)
        if unknown or missing:
            what = (
                f"unknown key {sorted(unknown)[0]}"
                if unknown
                else f"missing key {sorted(missing)[0]}"
            )
            raise Invalid(f"{where}: {what}; expected name, price_per_kwh, start, end and days")
        try:
            name = text(spec["name"])
            if any(p["name"] == name for p in periods):
                raise Invalid("expected a name not used by another period")
        except Invalid as exc:
            raise Invalid(f"{where}: name: {exc}") from None
        try:
            price = number(0.0, 1000.0)(spec["price_per_kwh"])
        except Invalid as exc:
            raise Invalid(f"{where}: price_per_kwh: {exc}") from None
        try:
            start, end = time_of_day(spec["start"]), time_of_day(spec["end"])
        except Invalid as exc:
            raise Invalid(f"{where}: start and end: {exc}") from None
        periods.append(
            {
                "name": name,
                "price_per_kwh": price,
                "start": start,
                "end": end,
                "days": _weekdays(spec.get("days", ["all"]), where),
            }
        )
    return periods


def _weekdays(value: Any, where: str) -> list[int]:
    expected = (
        f'{where}: days = {show(value)}: expected a list of "mon" … "sun", "weekdays", '
        '"weekend" or "all"'
    )
    if not isinstance(value, list) or not value:
        raise Invalid(expected)
    days: set[int] = set()
    for item in value:
        names = DAY_GROUPS.get(item, (item,)) if isinstance(item, str) else (None,)
        if not all(n in WEEKDAYS for n in names):
            raise Invalid(expected)
        days |= {WEEKDAYS.index(n) for n in names}
    return sorted(days)


def word_list(*options: str) -> Callable[[Any], list[str]]:
    """A list of distinct strings, each one of `options` (or any non-empty string if none)."""
    expected = "expected a list of " + (
        "any of " + ", ".join(show(o) for o in options) if options else "non-empty strings"
    )

    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise Invalid(expected)
        if options and not set(value) <= set(options):
            raise Invalid(expected)
        if len(set(value)) != len(value):
            raise Invalid(expected + ", each once")
        return list(value)

    return check


def mqtt_topic(allow_empty: bool = False) -> Callable[[Any], str]:
    """A topic to publish under: levels joined by "/", no wildcard (+ #), no empty level."""
    expected = 'expected a topic such as "corcypower/garage": levels of printable characters joined by "/", without + or #'
    if allow_empty:
        expected += ' ("" turns it off)'

    def check(value: Any) -> str:
        if allow_empty and value == "":
            return value
        if (
            not isinstance(value, str)
            or not 1 <= len(value.encode()) <= 200
            or not value.isprintable()
            or any(c in value for c in "+#")
            or "" in value.split("/")
        ):
            raise Invalid(expected)
        return value

    return check


def web_url(value: Any) -> str:
    """An http(s) URL kept exactly as written (a webhook's path may end in /)."""
    if not isinstance(value, str) or not URL.fullmatch(value):
        raise Invalid('expected a URL such as "https://example.com/hook"')
    return value


def email_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(_is_address(v) for v in value):
        raise Invalid('expected a list of one or more e-mail addresses, e.g. ["me@example.com"]')
    return list(value)


def email_address(value: Any) -> str:
    if not _is_address(value):
        raise Invalid('expected an e-mail address, e.g. "corcypower@example.com"')
    return value


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"[^\s@<>]+@[^\s@<>]+", value))


def clock_window(value: Any) -> tuple[int, int]:
    """ "HH:MM-HH:MM" in local time, as (start, end) minutes after midnight; it may span midnight."""
    expected = 'expected "HH:MM-HH:MM" in local time, e.g. "01:00-05:00" or "22:00-07:00"'
    m = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", value) if isinstance(value, str) else None
    if m is None:
        raise Invalid(expected)
    h1, m1, h2, m2 = map(int, m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
        raise Invalid(expected)
    if start == end % (24 * 60):
        raise Invalid(expected + "; start and end must differ (leave it out for all day)")
    return start, end


def client_id(value: Any) -> str:
    """An MQTT client id: brokers refuse a second client with the same one."""
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not value.isprintable():
        raise Invalid("expected 1 to 128 printable characters, unique on the broker")
    return value


def identifier(value: Any) -> str:
    """A name that can be used as-is in topics and ids: letters, digits, _ and -."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise Invalid("expected 1 to 64 letters, digits, _ or -")
    return value
