"""Passwords named by the config: an environment variable, a password_file, or the key itself.

One set of rules for every section that logs in somewhere ([export.mysql], [notify.email]):
the variable wins, then `password_file` (its first line; a relative name is looked up in
$CREDENTIALS_DIRECTORY, set by systemd's LoadCredential=, else beside the config file), then
`password`. A password anyone on the machine can read is warned about, not refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from corcypower.errors import ConfigError

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=


def password(config, section: str, what: str, env: str) -> tuple[str | None, list[str]]:
    """The password of [section] (None: none given), and what to warn about.

    `what` names it in warnings ("the MySQL password"); `env` is the variable that wins.
    """
    warnings = []
    if config[f"{section}.password"] is not None and world_readable(config.source):
        warnings.append(
            f"{config.source} holds [{section}] password and anyone on this machine can read "
            f"it: chmod 600 {config.source}, or move the password to password_file"
        )
    if os.environ.get(env):
        return os.environ[env], warnings
    name = config[f"{section}.password_file"]
    if name is not None:
        path = password_path(name, config.source)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ConfigError(
                f"{config.where}: [{section}] password_file = {name!r}: cannot read {path}: {reason}"
            ) from None
        if world_readable(path):
            warnings.append(f"{path} holds {what} and anyone can read it: chmod 600 {path}")
        return (lines[0] if lines else ""), warnings
    return config[f"{section}.password"], warnings


def password_path(name: str, source: Path | None) -> Path:
    """An absolute path as it is; a relative one in $CREDENTIALS_DIRECTORY, else beside the config."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path
    if os.environ.get(CREDENTIALS_ENV):
        return Path(os.environ[CREDENTIALS_ENV]) / path
    return (source.parent if source else Path.cwd()) / path


def world_readable(path: Path | None) -> bool:
    try:
        return path is not None and bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False
