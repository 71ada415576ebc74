#!/usr/bin/env bash
# Install CorcyPower on a Raspberry Pi as two systemd services (mcpd and dashboard).
#
#   sudo ./install.sh                       install, or update to this checkout
#   sudo ./install.sh --uninstall           remove program and services; keep config and data
#   sudo ./install.sh --uninstall --purge   also delete the config, the data and the user
#
# Options:
#   --config FILE  the config to install when /etc/corcypower/config.toml does not exist yet
#                  (default: examples/pi.toml, with this Pi's names as dashboard origins);
#                  an existing config is never overwritten
#   --no-start     install and enable the services, but do not (re)start them
#   --root DIR     install into DIR instead of / (tests, images): no apt-get, no udevadm, no
#                  starting; users, groups and `systemctl enable` act on DIR's files
#   --help         this text
#
# It is idempotent: running it again changes nothing and says so. What it does:
#   apt packages  python3-venv, python3-dev, gcc (to build spidev), sqlite3
#   user          corcypower (system user, no login), in group spi
#   program       a venv in /opt/corcypower/venv with corcypower[pi,dashboard,mysql,mqtt] from here,
#                 /usr/local/bin/corcypower linked to it
#   config        /etc/corcypower/config.toml, mode 0640, root:corcypower
#   data          /var/lib/corcypower (power.db), mode 0750, corcypower:corcypower
#   udev          /etc/udev/rules.d/99-corcypower-spi.rules: /dev/spidev* for group spi
#   services      /etc/systemd/system/{mcpd,dashboard}.service, enabled and started
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
SERVICE_USER=corcypower
PREFIX=/opt/corcypower
VENV=$PREFIX/venv
ETC=/etc/corcypower
STATE=/var/lib/corcypower
UNIT_DIR=/etc/systemd/system
UDEV_RULE=/etc/udev/rules.d/99-corcypower-spi.rules
LINK=/usr/local/bin/corcypower
UNITS=(mcpd.service dashboard.service)
APT_PACKAGES=(python3-venv python3-dev gcc sqlite3)
DASHBOARD_PORT=5006
EXTRAS=pi,dashboard,mysql,mqtt  # spidev; bokeh (dashboard unit); pymysql ([export.mysql]); paho-mqtt ([mqtt])

ROOT=/
CONFIG="$SRC/examples/pi.toml"
CONFIG_GIVEN=0
START=1
UNINSTALL=0
PURGE=0
changes=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "$*"; }
changed() { changes=$((changes + 1)); echo "  + $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --config) [ $# -ge 2 ] || die "--config needs a FILE"; CONFIG="$2"; CONFIG_GIVEN=1; shift 2 ;;
        --root) [ $# -ge 2 ] || die "--root needs a DIR"; ROOT="$2"; shift 2 ;;
        --no-start) START=0; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge) PURGE=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge goes with --uninstall"
[ -d "$ROOT" ] || die "--root $ROOT: no such directory"
ROOT="$(cd "$ROOT" && pwd)"
if [ "$ROOT" = / ] && [ "$(id -u)" -ne 0 ]; then
    die "run it as root: sudo $0 $*"
fi

# A path on the target system.
r() { echo "${ROOT%/}$1"; }
on_host() { [ "$ROOT" = / ]; }
# users and groups: in DIR's /etc files under --root (shadow's --prefix)
prefix_args=()
on_host || prefix_args=(--prefix "$ROOT")
systemctl_args=()
on_host || systemctl_args=(--root="$ROOT")

has_user() { grep -q "^$1:" "$(r /etc/passwd)"; }
has_group() { grep -q "^$1:" "$(r /etc/group)"; }
in_group() { grep "^$1:" "$(r /etc/group)" | cut -d: -f4 | tr ',' '\n' | grep -qx "$2"; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$(r /etc/passwd)"; }
gid_of() { awk -F: -v g="$1" '$1 == g { print $3 }' "$(r /etc/group)"; }

# Owners need root: a --root install by another user (an image build) leaves them as they are.
MANAGE_OWNERS=1
[ "$(id -u)" -eq 0 ] || MANAGE_OWNERS=0
set_owner() { # owner path
    [ "$MANAGE_OWNERS" = 0 ] || chown "$1" "$2"
}

# Make a directory with this mode and owner, saying so only when something changes.
ensure_dir() { # path mode uid gid
    local path="$1" mode="$2" owner="$3:$4"
    if [ -d "$path" ]; then
        ensure_mode "$path" "$mode" "$owner"
        return
    fi
    mkdir -p "$path"
    chmod "$mode" "$path"
    set_owner "$owner" "$path"
    changed "directory ${path#"${ROOT%/}"} ($mode, $owner)"
}

ensure_mode() { # path mode uid:gid
    local path="$1" mode="$2" owner="$3"
    if [ "$(stat -c '%a' "$path")" != "${mode#0}" ]; then
        chmod "$mode" "$path"
        changed "mode $mode ${path#"${ROOT%/}"}"
    fi
    if [ "$MANAGE_OWNERS" = 1 ] && [ "$(stat -c '%u:%g' "$path")" != "$owner" ]; then
        chown "$owner" "$path"
        changed "owner $owner ${path#"${ROOT%/}"}"
    fi
}

# Copy a file if its content differs; returns 0 when it was written.
install_file() { # source destination mode uid gid
    local src="$1" dest="$2"
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        ensure_mode "$dest" "$3" "$4:$5"
        return 1
    fi
    mkdir -p "$(dirname "$dest")"
    install -m "$3" "$src" "$dest"
    set_owner "$4:$5" "$dest"
    changed "file ${dest#"${ROOT%/}"}"
}

# What the venv was built from: the package's own files.
source_hash() {
    (cd "$SRC" && find pyproject.toml README.md corcypower schema -type f \
        -not -path '*/__pycache__/*' -not -name '*.pyc' | LC_ALL=C sort | xargs sha256sum) |
        sha256sum | cut -d' ' -f1
}

apt_packages() {
    on_host && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null || return 0
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
    changed "apt packages ${missing[*]}"
}

user_and_groups() {
    if ! has_group spi; then
        groupadd "${prefix_args[@]}" --system spi
        changed "group spi (owns /dev/spidev*)"
    fi
    if ! has_user "$SERVICE_USER"; then
        useradd "${prefix_args[@]}" --system --user-group --home-dir "$STATE" --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
        changed "user $SERVICE_USER"
    fi
    if ! in_group spi "$SERVICE_USER"; then
        usermod "${prefix_args[@]}" -aG spi "$SERVICE_USER"
        changed "user $SERVICE_USER in group spi"
    fi
}

program() {
    local venv hash stamp
    venv="$(r $VENV)"
    stamp="$(r $PREFIX)/source.sha256"
    ensure_dir "$(r $PREFIX)" 0755 0 0
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
        changed "venv $VENV"
    fi
    hash="$(source_hash)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ] || [ ! -x "$venv/bin/corcypower" ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${SRC}[${EXTRAS}]"
        echo "$hash" >"$stamp"
        changed "corcypower from $SRC into $VENV"
    fi
    install_file "$SRC/docs/pi.md" "$(r $PREFIX)/docs/pi.md" 0644 0 0 || true
    if [ "$(readlink "$(r $LINK)" 2>/dev/null)" != "$VENV/bin/corcypower" ]; then
        mkdir -p "$(dirname "$(r $LINK)")"
        ln -sfn "$VENV/bin/corcypower" "$(r $LINK)"
        changed "link $LINK"
    fi
}

# The example, with this Pi's names as the dashboard's allowed origins.
render_example() {
    local origins addr
    origins="\"$(hostname).local:$DASHBOARD_PORT\""
    for addr in $(hostname -I 2>/dev/null || true); do
        case "$addr" in *:*) ;; *) origins="$origins, \"$addr:$DASHBOARD_PORT\"" ;; esac
    done
    sed "s/^allow_websocket_origin = \[\"raspberrypi.local:$DASHBOARD_PORT\"\]/allow_websocket_origin = [$origins]/" "$1"
}

config() {
    local gid dest tmp
    gid="$(gid_of "$SERVICE_USER")"
    dest="$(r $ETC)/config.toml"
    ensure_dir "$(r $ETC)" 0750 0 "$gid"
    if [ -e "$dest" ]; then
        ensure_mode "$dest" 0640 "0:$gid"
        return
    fi
    [ -f "$CONFIG" ] || die "--config $CONFIG: no such file"
    tmp="$(mktemp)"
    if [ "$CONFIG_GIVEN" = 1 ]; then cp "$CONFIG" "$tmp"; else render_example "$CONFIG" >"$tmp"; fi
    install -m 0640 "$tmp" "$dest"
    set_owner "0:$gid" "$dest"
    rm -f "$tmp"
    changed "config $ETC/config.toml (from ${CONFIG#"$SRC/"})"
}

data_dir() {
    ensure_dir "$(r $STATE)" 0750 "$(uid_of "$SERVICE_USER")" "$(gid_of "$SERVICE_USER")"
}

udev_rule() {
    local tmp
    tmp="$(mktemp)"
    echo 'SUBSYSTEM=="spidev", GROUP="spi", MODE="0660"' >"$tmp"
    if install_file "$tmp" "$(r $UDEV_RULE)" 0644 0 0 && on_host && command -v udevadm >/dev/null; then
        { udevadm control --reload && udevadm trigger --subsystem-match=spidev; } || true
    fi
    rm -f "$tmp"
}

services() {
    local unit written=0
    for unit in "${UNITS[@]}"; do
        install_file "$SRC/systemd/$unit" "$(r $UNIT_DIR)/$unit" 0644 0 0 && written=1
    done
    if on_host && [ "$written" = 1 ]; then systemctl daemon-reload; fi
    for unit in "${UNITS[@]}"; do
        if ! systemctl "${systemctl_args[@]}" is-enabled --quiet "$unit" 2>/dev/null; then
            systemctl "${systemctl_args[@]}" enable --quiet "$unit"
            changed "enabled $unit"
        fi
    done
    on_host && [ "$START" = 1 ] || return 0
    if [ "$changes" -gt 0 ]; then
        # --no-block: with SPI still off, the daemon would keep `start` waiting for READY=1
        systemctl restart --no-block "${UNITS[@]}"
        say "  (re)started ${UNITS[*]}"
    else
        for unit in "${UNITS[@]}"; do
            if ! systemctl is-active --quiet "$unit"; then
                systemctl start --no-block "$unit"
                changed "started $unit"
            fi
        done
    fi
}

install_all() {
    say "installing CorcyPower into ${ROOT}"
    [ "$MANAGE_OWNERS" = 1 ] || say "not root: files keep their owners (set them when building the image)"
    apt_packages
    user_and_groups
    program
    config
    data_dir
    udev_rule
    services
    if [ "$changes" -eq 0 ]; then say "nothing to change: CorcyPower is installed"; else say "done: $changes changes"; fi
    if on_host && [ ! -e /dev/spidev0.0 ]; then
        say "SPI is off: sudo raspi-config nonint do_spi 0 && sudo reboot (or edit /boot/firmware/config.txt)"
    fi
    say "next: sudo nano $ETC/config.toml; sudo systemctl restart mcpd; sudo corcypower doctor"
}

remove() { # path: a file, link or directory tree
    if [ -e "$1" ] || [ -L "$1" ]; then
        rm -rf "$1"
        changed "removed ${1#"${ROOT%/}"}"
    fi
}

uninstall_all() {
    local unit
    say "uninstalling CorcyPower from ${ROOT}"
    for unit in "${UNITS[@]}"; do
        if [ -f "$(r $UNIT_DIR)/$unit" ]; then
            if on_host; then
                systemctl disable --now --quiet "$unit" || true
            else
                systemctl "${systemctl_args[@]}" disable --quiet "$unit" || true
            fi
        fi
        remove "$(r $UNIT_DIR)/$unit"
    done
    on_host && systemctl daemon-reload
    if [ "$(readlink "$(r $LINK)" 2>/dev/null)" = "$VENV/bin/corcypower" ]; then remove "$(r $LINK)"; fi
    remove "$(r $PREFIX)"
    remove "$(r $UDEV_RULE)"
    if [ "$PURGE" = 1 ]; then
        remove "$(r $ETC)"
        remove "$(r $STATE)"
        if has_user "$SERVICE_USER"; then
            userdel "${prefix_args[@]}" "$SERVICE_USER"
            changed "user $SERVICE_USER deleted"
        fi
    else
        say "kept $ETC (your config) and $STATE (your data); --uninstall --purge deletes them"
    fi
    if [ "$changes" -eq 0 ]; then say "nothing to change: CorcyPower is not installed"; else say "done: $changes changes"; fi
}

if [ "$UNINSTALL" = 1 ]; then uninstall_all; else install_all; fi
