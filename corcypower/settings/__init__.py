"""Settings: one table of (name, default, help) drives defaults, validation and the docs.

setting.py      one setting: name, default, help, check
table.py        every setting (mqtt_table.py: [mqtt]; alerting.py: [notify.*] and [[alerts]])
checks.py       the checks a value must pass
passwords.py    passwords: environment, password_file (systemd credentials), or the config
config.py       loading a TOML file into a validated Config of Channels
docs.py         the reference, docs/settings.md (`corcypower settings`)
"""

from corcypower.settings.checks import CIRCUITS, Invalid
from corcypower.settings.config import (
    DEFAULT_CONFIG_PATH,
    ENV_VAR,
    Channel,
    Config,
    config_path,
    frame_seconds,
    from_dict,
    load,
)
from corcypower.settings.docs import given, markdown
from corcypower.settings.table import (
    CHANNEL_SETTINGS,
    CHIP_CLOCK_HZ,
    CHIPS,
    DEFAULT_CHANNELS,
    REQUIRED_CHANNEL_KEYS,
    SETTINGS,
    Setting,
)

__all__ = [
    "CHANNEL_SETTINGS",
    "CHIPS",
    "CHIP_CLOCK_HZ",
    "CIRCUITS",
    "DEFAULT_CHANNELS",
    "DEFAULT_CONFIG_PATH",
    "ENV_VAR",
    "REQUIRED_CHANNEL_KEYS",
    "SETTINGS",
    "Channel",
    "Config",
    "Invalid",
    "Setting",
    "config_path",
    "frame_seconds",
    "from_dict",
    "given",
    "load",
    "markdown",
]
