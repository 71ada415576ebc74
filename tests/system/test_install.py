"""install.sh into a temporary root: files and modes, a second run changes nothing, uninstall.

The real `useradd`/`groupadd`/`usermod`/`userdel` (with --prefix) and `systemctl --root`
act on the temporary root's files when the tests run as root. Only Python is a stand-in
(building a venv with numpy and spidev from PyPI is not the point here), and, when not
root, the user tools (which need root even with --prefix); install.sh then leaves owners
alone, so owners are only checked as root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from corcypower import settings
from tests.helpers import REPO, skip_unless

IS_ROOT = os.geteuid() == 0

# A python3 that makes a venv and "installs" a corcypower entry point, logging each call.
FAKE_PYTHON = """#!/bin/sh
echo "python $*" >> "$STUB_LOG"
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && chmod +x "$3/bin/python"
elif [ "$1 $2 $3" = "-m pip install" ]; then
    printf '#!/bin/sh\\necho corcypower "$@"\\n' > "$(dirname "$0")/corcypower"
    chmod +x "$(dirname "$0")/corcypower"
fi
"""

# Without root: user tools that edit --prefix's files as the real ones would.
FAKE_TOOLS = {
    "groupadd": 'echo "${*: -1}:x:990:" >> "$2/etc/group"',
    "useradd": 'u="${*: -1}"; echo "$u:x:991:991::/var/lib/$u:/usr/sbin/nologin" >> "$2/etc/passwd"; '
    'echo "$u:x:991:" >> "$2/etc/group"',
    "usermod": 'sed -i "s/^spi:\\(.*\\):$/spi:\\1:${*: -1}/" "$2/etc/group"',
    "userdel": 'sed -i "/^${*: -1}:/d" "$2/etc/passwd"',
}


@pytest.fixture
def target(tmp_path):
    """An empty system root, and the environment install.sh runs with."""
    skip_unless(shutil.which("systemctl") is not None, "systemctl is not installed")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).touch()
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "python3").write_text(FAKE_PYTHON)
    if not IS_ROOT:
        for name, body in FAKE_TOOLS.items():
            (stubs / name).write_text(f'#!/bin/bash\necho "{name} $*" >> "$STUB_LOG"\n{body}\n')
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{stubs}:{os.environ['PATH']}", STUB_LOG=str(tmp_path / "log"))
    env["PYTHON"] = str(stubs / "python3")
    return root, env, tmp_path / "log"


def install(root: Path, env: dict, *args: str) -> str:
    done = subprocess.run(
        ["bash", str(REPO / "install.sh"), "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def ids(root: Path, name: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"no user {name} in {root}/etc/passwd")


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path with its type, mode, owner, mtime and content (or link target)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            what = os.readlink(path)
        elif path.is_file():
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = "dir"
        out[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, what)
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_puts_everything_in_place(target):
    root, env, _ = target
    out = install(root, env)
    assert "changes" in out
    uid, gid = ids(root, "corcypower")
    passwd = (root / "etc/passwd").read_text()
    assert "corcypower:x:" in passwd and ":/var/lib/corcypower:/usr/sbin/nologin" in passwd
    spi = next(
        line for line in (root / "etc/group").read_text().splitlines() if line.startswith("spi:")
    )
    assert "corcypower" in spi.split(":")[3].split(",")

    config = root / "etc/corcypower/config.toml"
    assert mode(config) == 0o640 and mode(config.parent) == 0o750
    data = root / "var/lib/corcypower"
    assert mode(data) == 0o750
    if IS_ROOT:
        assert (config.stat().st_uid, config.stat().st_gid) == (0, gid)
        assert (config.parent.stat().st_uid, config.parent.stat().st_gid) == (0, gid)
        assert (data.stat().st_uid, data.stat().st_gid) == (uid, gid)
    # the example, with this machine's name as a dashboard origin, and still valid
    loaded = settings.load(config)
    assert loaded.db_path == Path("/var/lib/corcypower/power.db")
    assert f"{os.uname().nodename}.local:5006" in loaded["dashboard.allow_websocket_origin"]
    assert "# One CT clamp on channel 0" in config.read_text()  # comments kept

    for unit in ("mcpd.service", "dashboard.service"):
        installed = root / "etc/systemd/system" / unit
        assert installed.read_bytes() == (REPO / "systemd" / unit).read_bytes()
        assert mode(installed) == 0o644
        wants = root / "etc/systemd/system/multi-user.target.wants" / unit
        assert os.readlink(wants) == f"/etc/systemd/system/{unit}"  # enabled

    venv = root / "opt/corcypower/venv"
    assert os.access(venv / "bin/corcypower", os.X_OK)
    assert os.readlink(root / "usr/local/bin/corcypower") == "/opt/corcypower/venv/bin/corcypower"
    assert (root / "opt/corcypower/docs/pi.md").read_bytes() == (REPO / "docs/pi.md").read_bytes()
    rule = (root / "etc/udev/rules.d/99-corcypower-spi.rules").read_text()
    assert 'SUBSYSTEM=="spidev", GROUP="spi", MODE="0660"' in rule


def test_a_second_run_changes_nothing(target):
    root, env, log = target
    install(root, env)
    before = snapshot(root)
    calls = log.read_text()
    assert "-m pip install" in calls and f"{REPO}[pi,dashboard,mysql,mqtt]" in calls
    out = install(root, env)
    assert "nothing to change" in out and "+ " not in out
    assert snapshot(root) == before
    assert log.read_text() == calls  # no venv, no pip, no useradd the second time


def test_an_existing_config_is_kept_and_its_mode_repaired(target, tmp_path):
    root, env, _ = target
    install(root, env)
    config = root / "etc/corcypower/config.toml"
    config.write_text("# mine\n[adc]\nchip = 'emulated'\n")
    config.chmod(0o644)
    out = install(root, env)
    assert "mode 0640 /etc/corcypower/config.toml" in out
    assert config.read_text() == "# mine\n[adc]\nchip = 'emulated'\n" and mode(config) == 0o640


def test_config_option_installs_that_file(target, tmp_path):
    root, env, _ = target
    mine = tmp_path / "mine.toml"
    mine.write_text((REPO / "examples/energymonitor.toml").read_text())
    install(root, env, "--config", str(mine))
    installed = root / "etc/corcypower/config.toml"
    assert installed.read_text() == mine.read_text()
    assert tomllib.loads(installed.read_text())["adc"]["chip"] == "mcp3208"


def test_uninstall_keeps_config_and_data_unless_purged(target):
    root, env, _ = target
    install(root, env)
    db = root / "var/lib/corcypower/power.db"
    db.write_bytes(b"SQLite format 3\0 precious")
    out = install(root, env, "--uninstall")
    assert "kept /etc/corcypower" in out
    assert db.read_bytes() == b"SQLite format 3\0 precious"
    assert (root / "etc/corcypower/config.toml").exists()
    for gone in (
        "opt/corcypower",
        "usr/local/bin/corcypower",
        "etc/systemd/system/mcpd.service",
        "etc/systemd/system/multi-user.target.wants/mcpd.service",
        "etc/systemd/system/dashboard.service",
        "etc/udev/rules.d/99-corcypower-spi.rules",
    ):
        assert not (root / gone).exists() and not (root / gone).is_symlink(), gone
    assert "nothing to change" in install(root, env, "--uninstall")

    install(root, env)  # reinstalling finds the data and config where they were
    assert db.read_bytes() == b"SQLite format 3\0 precious"
    install(root, env, "--uninstall", "--purge")
    assert not (root / "var/lib/corcypower").exists()
    assert not (root / "etc/corcypower").exists()
    assert "corcypower:" not in (root / "etc/passwd").read_text()


def test_bad_options_are_one_clear_line(target):
    root, env, _ = target
    for args, message in (
        (["--purge"], "--purge goes with --uninstall"),
        (["--frobnicate"], "unknown option --frobnicate"),
        (["--config", "/nonexistent.toml"], "--config /nonexistent.toml: no such file"),
    ):
        done = subprocess.run(
            ["bash", str(REPO / "install.sh"), "--root", str(root), *args],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0 and message in done.stderr, (args, done.stderr)


def test_help_lists_every_option_the_docs_name():
    out = subprocess.run(
        ["bash", str(REPO / "install.sh"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    docs = (REPO / "docs/pi.md").read_text()
    for option in ("--uninstall", "--purge", "--config", "--no-start", "--root"):
        assert option in out and option in docs, option


def test_the_readme_ends_with_installing_on_a_pi():
    readme = (REPO / "README.md").read_text()
    sections = [line for line in readme.splitlines() if line.startswith("## ")]
    assert sections[-1] == "## Installing on a Raspberry Pi"
    last = readme.split("## Installing on a Raspberry Pi", 1)[1]
    for needed in (
        "Bookworm",
        "Trixie",
        "do_spi",
        "| MCP3008 pin | MCP3208 pin | Pi header pin |",
        "burden",
        "bias",
        "AC-AC adapter",
        "sudo ./install.sh",
        ":5006",
        "journalctl -u mcpd",
        "corcypower doctor",
        "corcypower calibrate",
    ):
        assert needed in last, needed


def test_shellcheck_finds_nothing():
    tool = shutil.which("shellcheck")
    skip_unless(tool is not None, "shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run([tool, str(REPO / "install.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
