"""Passwords of the optional connections ([export.mysql], [mqtt]): one set of rules for all.

In order: an environment variable, else `password_file` (its first line; a relative name is
looked up in $CREDENTIALS_DIRECTORY, set by systemd's LoadCredential=, else beside the config
file), else `password` in the config. A file anyone on the machine can read is warned about.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from corcypower.errors import ConfigError
from corcypower.settings.config import Config

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=


def password(config: Config, section: str, env_var: str, what: str) -> tuple[str | None, list[str]]:
    """The password of [section] and the warnings to log; `what` names it ("the MySQL password")."""
    warnings = []
    if config[f"{section}.password"] is not None and world_readable(config.source):
        warnings.append(
            f"{config.source} holds [{section}] password and anyone on this machine can read "
            f"it: chmod 600 {config.source}, or move the password to password_file"
        )
    if os.environ.get(env_var):
        return os.environ[env_var], warnings
    name = config[f"{section}.password_file"]
    if name is None:
        return config[f"{section}.password"], warnings
    path = beside_config(name, config.source, credentials=True)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(
            f"{config.where}: [{section}] password_file = {name!r}: cannot read {path}: {reason}"
        ) from None
    if world_readable(path):
        warnings.append(f"{path} holds {what} and anyone can read it: chmod 600 {path}")
    return (lines[0] if lines else ""), warnings


def beside_config(name: str, source: Path | None, credentials: bool = False) -> Path:
    """An absolute path as it is; a relative one in $CREDENTIALS_DIRECTORY (if `credentials`
    and set), else beside the config file (else in the current directory)."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path
    if credentials and os.environ.get(CREDENTIALS_ENV):
        return Path(os.environ[CREDENTIALS_ENV]) / path
    return (source.parent if source else Path.cwd()) / path


def world_readable(path: Path | None) -> bool:
    try:
        return path is not None and bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False
