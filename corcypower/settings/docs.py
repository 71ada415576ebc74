"""The settings reference in Markdown: docs/settings.md is this text (a test keeps them equal)."""

from __future__ import annotations

from corcypower.settings.alerting import ALERT_SETTINGS, REQUIRED_ALERT_KEYS
from corcypower.settings.table import CHANNEL_SETTINGS, REQUIRED_CHANNEL_KEYS, SETTINGS, Setting


def markdown() -> str:
    """The settings reference (docs/settings.md is this text; a test keeps them equal)."""
    lines = [
        "# Settings",
        "",
        "Generated from `corcypower/settings/table.py` by `corcypower settings`. Every key is optional;",
        "unknown keys are errors. The file is found by `--config`, else `$CORCYPOWER_CONFIG`,",
        "else `/etc/corcypower/config.toml`; with none, the defaults below apply.",
        "",
    ]
    section = None
    for s in SETTINGS:
        sec, _, key = s.name.rpartition(".")
        if sec != section:
            lines += ["", f"## [{sec}]", "", "| key | default | meaning |", "|---|---|---|"]
            section = sec
        lines.append(f"| `{key}` | {_doc_default(s)} | {s.help} |")
    lines += [
        "",
        "## [[channels]]",
        "",
        "One table per ADC input. `name`, `adc_channel`, `kind` and `scale` are required. With no",
        "`[[channels]]` at all, the original CorcyPower wiring applies: one CT named `main` on",
        "channel 0, 0.27 A per count, a fixed 237 V.",
        "",
        "| key | default | meaning |",
        "|---|---|---|",
    ]
    lines += _rows(CHANNEL_SETTINGS, REQUIRED_CHANNEL_KEYS)
    lines += [
        "",
        "## [[alerts]]",
        "",
        "One table per alert rule, each with a unique `name` and exactly one condition: `above_w`",
        "and/or `below_w` (with `channel`), `on_flags`, `stale_seconds` or `unreachable`. Where",
        "notifications go is set in `[notify.*]` above (and `[mqtt]`). Every condition with an",
        "example: [alerts.md](alerts.md).",
        "",
        "| key | default | meaning |",
        "|---|---|---|",
    ]
    lines += _rows(ALERT_SETTINGS, REQUIRED_ALERT_KEYS)
    return "\n".join(lines) + "\n"


def _rows(table: list[Setting], required: tuple[str, ...]) -> list[str]:
    return [
        f"| `{s.name}` | {'required' if s.name in required else _doc_default(s)} | {s.help} |"
        for s in table
    ]


def _doc_default(s: Setting) -> str:
    if s.default is None:
        return "(see meaning)"
    if isinstance(s.default, str):
        return f'`"{s.default}"`'
    if isinstance(s.default, bool):
        return "`true`" if s.default else "`false`"
    if s.default == {}:
        return "`{}`"
    if isinstance(s.default, list):
        return "`[" + ", ".join(f'"{v}"' for v in s.default) + "]`"
    return f"`{s.default}`"


def given(config) -> str:
    """What a config file sets (the keys whose value is not the default), after the reference."""
    lines = ["", f"## In {config.where}", ""]
    for s in SETTINGS:
        if config[s.name] != s.default:
            lines.append(f"- `{s.name}` = `{config[s.name]!r}`")
    lines.append(
        f"- {len(config.channels)} channels: " + ", ".join(c.name for c in config.channels)
    )
    return "\n".join(lines) + "\n"
