"""`corcypower doctor`: is this Pi set up to measure? One line per check, ✓ or ✗ with the fix.

Every check looks at the system through a Probe (paths, the command runner, HTTP and TCP),
so tests run them against temporary directories and real local servers.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import stat
from dataclasses import dataclass

from corcypower import settings
from corcypower.clock import age_text
from corcypower.errors import CorcyPowerError
from corcypower.live.address import STATE_PATH, local_url
from corcypower.probe import Probe, describe_greeting, group_name
from corcypower.settings import Config

MARKS = {True: "✓", False: "✗", None: "–"}
STATUS_HINT = "sudo systemctl status mcpd; journalctl -u mcpd -n 50"


@dataclass
class Result:
    """One line of the report: ok is True (✓), False (✗, with a fix) or None (– not applicable)."""

    ok: bool | None
    text: str
    fix: str = ""

    def lines(self) -> list[str]:
        out = [f"{MARKS[self.ok]} {self.text}"]
        if self.ok is False and self.fix:
            out.append(f"    fix: {self.fix}")
        return out


# --- the checks ------------------------------------------------------------------------


def check_config(path) -> tuple[Result, Config | None]:
    where = settings.config_path(path)
    try:
        config = settings.load(path)
    except CorcyPowerError as exc:
        fix = "edit the file; `corcypower settings` lists every key and its meaning"
        if "ermission denied" in str(exc):
            fix = "run with sudo: the config is readable by root and the corcypower group only"
        return Result(False, f"config: {exc}", fix), None
    name = where or "no config file, the defaults"
    n = len(config.channels)
    text = f"config {name}: valid, {n} channel{'s' * (n != 1)} on {config['adc.chip']}"
    return Result(True, text), config


def access(mode: int, owner: int, group: int, uid: int, gids: set[int], want: int) -> bool:
    """Whether a user may read and write (want = R_OK|W_OK bits as 0o6) by the mode bits."""
    if uid == 0:
        return True
    if owner == uid:
        return (mode >> 6) & want == want
    if group in gids:
        return (mode >> 3) & want == want
    return mode & want == want


def check_spi(config: Config, probe: Probe) -> list[Result]:
    if config["adc.chip"] == "emulated":
        return [Result(None, "SPI: not used (adc.chip = emulated)")]
    out = []
    if not probe.has_module("spidev"):
        out.append(
            Result(
                False,
                "SPI: the spidev Python package is missing",
                "sudo /opt/corcypower/venv/bin/pip install 'corcypower[pi]' (install.sh does it)",
            )
        )
    user = probe.user(probe.service_user)
    for cs in config.chip_selects():
        path = probe.dev / f"spidev{config['adc.spi_bus']}.{cs}"
        try:
            st = path.stat()
        except FileNotFoundError:
            out.append(
                Result(
                    False,
                    f"SPI: {path} does not exist (SPI is off)",
                    "sudo raspi-config nonint do_spi 0 (or dtparam=spi=on in "
                    "/boot/firmware/config.txt), then reboot",
                )
            )
            continue
        if user is None:
            out.append(
                Result(
                    False,
                    f"SPI: {path} exists, but there is no user {probe.service_user} to run the daemon",
                    "sudo ./install.sh (it creates the user)",
                )
            )
            continue
        if access(st.st_mode, st.st_uid, st.st_gid, *user, want=0o6):
            out.append(Result(True, f"SPI: {path} readable and writable by {probe.service_user}"))
        elif st.st_mode & 0o060 == 0o060:
            group = group_name(st.st_gid)
            out.append(
                Result(
                    False,
                    f"SPI: {path} belongs to group {group}, and {probe.service_user} is not in it",
                    f"sudo usermod -aG {group} {probe.service_user} && sudo systemctl restart mcpd",
                )
            )
        else:
            out.append(
                Result(
                    False,
                    f"SPI: {path} is mode {stat.filemode(st.st_mode)}: no group may use it",
                    "Raspberry Pi OS gives /dev/spidev* to group spi (udev rule "
                    '99-com.rules): restore it, or add a udev rule with GROUP="spi", MODE="0660"',
                )
            )
    return out


def check_database(config: Config, probe: Probe) -> list[Result]:
    path = config.db_path
    if not path.exists():
        return [
            Result(
                False,
                f"database {path}: does not exist yet",
                f"is the daemon running? {STATUS_HINT}",
            )
        ]
    out = []
    pragma = "quick_check" if probe.quick else "integrity_check"
    last = None
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
        try:
            verdict = [row[0] for row in conn.execute(f"PRAGMA {pragma}")]
            last = conn.execute("SELECT max(ts) FROM batch").fetchone()[0]
        except sqlite3.DatabaseError as exc:  # a damaged file can fail the check itself
            verdict = [str(exc)]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        fix = "run with sudo" if "unable to open" in str(exc) else STATUS_HINT
        return [Result(False, f"database {path}: cannot read: {exc}", fix)]
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    if verdict == ["ok"]:
        out.append(Result(True, f"database {path}: {pragma} ok, {size / 2**20:.1f} MB"))
    else:
        out.append(
            Result(
                False,
                f"database {path}: {pragma} found problems: {'; '.join(verdict[:3])}",
                "stop the daemon, keep a copy of the file, recover what can be read "
                f"(sqlite3 {path} .recover | sqlite3 recovered.db) and put that in its place",
            )
        )
    free = shutil.disk_usage(path.parent).free
    line = f"disk: {free / 2**30:.1f} GB free for {path.parent}"
    if free >= probe.min_free_bytes:
        out.append(Result(True, line))
    else:
        out.append(
            Result(False, line, "free space on the card, or move store.path to a larger disk")
        )
    if verdict == ["ok"] or last is not None:  # a damaged file has no last row to speak of
        out.append(_last_row(config, probe, last))
    return out


def _last_row(config: Config, probe: Probe, last: int | None) -> Result:
    if last is None:
        return Result(False, "last row: the database holds no batch yet", STATUS_HINT)
    age = (probe.wall_ms() - last) / 1000
    # rows reach the file every commit_seconds; allow two commits and a batch of slack
    limit = 2 * config["store.commit_seconds"] + config["adc.batch_seconds"] + 10
    if age < -5:
        return Result(
            False,
            f"last row: {-age:.0f} s in the future",
            "the clock went back since it was stored: check the clock line below",
        )
    text = f"last row: {age_text(age)} ago"
    if age <= limit:
        return Result(True, text)
    return Result(False, text + " (the daemon is not storing)", STATUS_HINT)


def check_clock(probe: Probe) -> Result:
    code, out = probe.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    answer = out.strip() if code == 0 else ""
    if answer == "yes" or (not answer and probe.timesync_flag.exists()):
        return Result(True, "clock: synchronised (NTP)")
    if answer == "no":
        return Result(
            False,
            "clock: not synchronised; a Pi has no battery clock, so times may be wrong",
            "check the network; sudo timedatectl set-ntp true; timedatectl timesync-status",
        )
    return Result(
        None, "clock: cannot tell whether it is synchronised (timedatectl did not answer)"
    )


def check_api(config: Config, probe: Probe) -> Result:
    url = local_url(config["api.bind"], config["api.port"], STATE_PATH)
    try:
        status, body = probe.get(url, probe.timeout)
    except OSError as exc:
        return Result(False, f"daemon API: nothing answers at {url} ({exc})", STATUS_HINT)
    try:
        doc = json.loads(body)
    except ValueError:
        return Result(False, f"daemon API: {url} answered HTTP {status}, not JSON", STATUS_HINT)
    if status == 503:
        return Result(
            False,
            f"daemon API: answering, but {doc.get('error', 'no batch yet')}",
            f"wait a few seconds; if it stays so, the chip is not read: {STATUS_HINT}",
        )
    if status != 200:
        return Result(False, f"daemon API: {url} answered HTTP {status}: {doc}", STATUS_HINT)
    text = (
        f"daemon API: answering at {url}, latest batch {age_text(doc.get('age_ms', 0) / 1000)} old"
    )
    problems = [
        f"{ch.get('name')} {flag}"
        for ch in doc.get("channels", [])
        for flag in ch.get("flags", [])
        if flag in ("clipped", "nominal-voltage")
        or (ch.get("kind") == "voltage" and flag in ("flat", "no-cycles"))
    ]
    if problems:
        return Result(
            False,
            text + "; " + ", ".join(problems),
            "journalctl -u mcpd -p warning says what to check for each",
        )
    return Result(True, text)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_dashboard(config: Config, probe: Probe) -> Result:
    """Whether the page answers, and from where it can be opened: only what is true."""
    address, port = config["dashboard.address"], config["dashboard.port"]
    url = local_url(address, port)
    try:
        probe.get(url, probe.timeout)
    except OSError as exc:
        return Result(
            False,
            f"dashboard: nothing answers at {url} ({exc})",
            "sudo systemctl status dashboard; journalctl -u dashboard -n 50",
        )
    if address in LOOPBACK:
        return Result(
            True,
            f"dashboard: answering at {url}, from this machine only (dashboard.address = "
            f'"{address}"; for a phone on the LAN: address = "0.0.0.0" and allow_websocket_origin)',
        )
    origins = config["dashboard.allow_websocket_origin"]
    if not origins:
        return Result(
            False,
            f"dashboard: answering on port {port} of {address}, but a browser on the LAN would "
            "get an empty page: no origin is allowed but localhost",
            f'[dashboard] allow_websocket_origin = ["{socket.gethostname()}.local:{port}", '
            f'"<this Pi\'s address>:{port}"], then sudo systemctl restart dashboard',
        )
    where = "  ".join(f"http://{origin}/" for origin in origins)
    return Result(True, f"dashboard: answering on port {port}; from the LAN: {where}")


def check_mysql(config: Config, probe: Probe) -> Result:
    host = config["export.mysql.host"]
    if not host:
        return Result(None, "MySQL export: not configured")
    port = config["export.mysql.port"]
    where = f"{config['export.mysql.user']}@{host}:{port}"
    try:
        ok, said = describe_greeting(probe.greeting(host, port, probe.timeout))
    except OSError as exc:
        return Result(
            False,
            f"MySQL export: cannot reach {host}:{port} ({exc})",
            "check the server is up and that its firewall and bind-address let this Pi in; "
            "minutes wait in the outbox meanwhile",
        )
    if not ok:
        return Result(
            False,
            f"MySQL export: {host}:{port} refuses this Pi: {said}",
            "on the server: let the export user connect from this host (CREATE USER/GRANT)",
        )
    try:
        version = probe.login(config)
    except ImportError:
        return Result(True, f"MySQL export: {host}:{port} answers ({said}); login not checked")
    except CorcyPowerError as exc:
        return Result(
            False,
            f"MySQL export: {where} answers ({said}) but the login fails: {exc}",
            "check [export.mysql] user, database and the password (docs/mysql.md)",
        )
    return Result(True, f"MySQL export: logged in as {where} ({version})")


def check_alerts(config: Config) -> Result:
    """The [[alerts]] make sense (channels, flags, notifiers); sending is `alerts test NAME`."""
    from corcypower.alerts.rules import from_config

    try:
        found = from_config(config)
    except CorcyPowerError as exc:
        return Result(
            False, f"alerts: {exc}", "fix the alert; docs/alerts.md has an example of each"
        )
    if not found:
        return Result(None, "alerts: none configured")
    targets = sorted({n for r in found for n in r.notify})
    return Result(
        True,
        f"alerts: {len(found)} rule{'s' * (len(found) != 1)} ({', '.join(r.name for r in found)}) "
        f"to {', '.join(targets)}; `corcypower alerts test NAME` tries one",
    )


def check_service(probe: Probe, unit: str) -> Result:
    if not (probe.unit_dir / unit).exists():
        return Result(None, f"{unit}: not installed (sudo ./install.sh installs it)")
    code, out = probe.run(["systemctl", "is-active", unit])
    state = out.strip() or "unknown"
    if code == 127:
        return Result(None, f"{unit}: installed; systemctl is not available to ask")
    if state == "active":
        return Result(True, f"{unit}: active")
    return Result(
        False,
        f"{unit}: {state}",
        f"sudo systemctl enable --now {unit}; journalctl -u {unit} -n 50",
    )


def diagnose(config_path=None, probe: Probe | None = None) -> list[Result]:
    """Every check, in the order a person would fix them."""
    probe = probe or Probe()
    result, config = check_config(config_path)
    results = [result]
    if config is None:
        return results + [Result(None, "the other checks need a valid config")]
    results += check_spi(config, probe)
    results.append(check_service(probe, "mcpd.service"))
    results += check_database(config, probe)
    results.append(check_clock(probe))
    results.append(check_api(config, probe))
    results.append(check_service(probe, "dashboard.service"))
    results.append(check_dashboard(config, probe))
    results.append(check_mysql(config, probe))
    results.append(check_alerts(config))
    return results


def report(results: list[Result]) -> tuple[str, int]:
    """The text to print and the exit code: 1 if anything is ✗."""
    lines = [line for r in results for line in r.lines()]
    failed = sum(r.ok is False for r in results)
    lines.append(f"{failed} problem{'s' * (failed != 1)} found" if failed else "all good")
    return "\n".join(lines) + "\n", 1 if failed else 0
