"""docs/alerts.md and the README keep up with the code: keys, flags, payload, table, examples."""

from __future__ import annotations

import re
import tomllib

from click.testing import CliRunner

from corcypower import settings
from corcypower.alerts.history import COLUMNS
from corcypower.alerts.rules import from_config
from corcypower.analysis import FLAG_NAMES
from corcypower.cli import cli
from corcypower.settings.alerting import ALERT_SETTINGS, NOTIFY_SETTINGS
from tests.alerts.test_notifiers import message
from tests.helpers import REPO

DOC = (REPO / "docs" / "alerts.md").read_text()
README = (REPO / "README.md").read_text()
CHANNELS = [{"name": "mains_v", "adc_channel": 7, "kind": "voltage", "scale": 0.25}] + [
    {"name": n, "adc_channel": k, "kind": "current", "scale": 0.02}
    for k, n in enumerate(["main", "fridge", "solar", "heatpump", "garage"])
]
# every notifier configured, so that any example's notify list is accepted
NOTIFY = {
    "webhook": {"url": "http://127.0.0.1:9/hook"},
    "ntfy": {"url": "http://127.0.0.1:9/topic"},
    "email": {"host": "127.0.0.1", "from": "a@b.c", "to": ["d@e.f"]},
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_every_key_is_named():
    for s in ALERT_SETTINGS:
        assert f"`{s.name}`" in DOC, s.name
    for s in NOTIFY_SETTINGS:  # `key`, `[section] key`, or key = in an example
        section, _, key = s.name.rpartition(".")
        pattern = rf"`(\[{re.escape(section)}\] )?{key}`|^{key} = "
        assert re.search(pattern, DOC, re.M), s.name


def test_every_health_flag_is_named():
    for name in FLAG_NAMES.values():
        assert f"`{name}`" in DOC, name


def test_every_payload_field_and_column_is_documented():
    for field in message().payload():
        assert f"| `{field}`" in DOC or f"`{field}` the same" in DOC, field
    for column in COLUMNS:
        assert f"`{column}`" in DOC, column


def test_the_toml_examples_are_valid():
    examples = blocks("toml")
    assert len(examples) >= 8
    for example in examples:
        data = tomllib.loads(example)
        data["notify"] = NOTIFY | data.get("notify", {})
        rules = from_config(settings.from_dict(data | {"channels": CHANNELS}))
        assert rules or "[[alerts]]" not in example


def test_the_payload_example_has_the_payload_fields():
    [example] = [b for b in blocks("json") if '"alert"' in b]
    import json

    assert set(json.loads(example)) == set(message().payload())


def test_the_listing_shown_is_what_the_command_prints(tmp_path):
    path = tmp_path / "config.toml"
    first = blocks("toml")[0]
    path.write_text(f'[store]\npath = "{tmp_path / "power.db"}"\n' + first)
    from corcypower.store.database import Database

    Database(tmp_path / "power.db").close()
    out = CliRunner().invoke(cli, ["alerts", "--config", str(path)]).output
    shown = re.search(r"\$ corcypower alerts\n(.*)\n", DOC).group(1)
    assert out.splitlines()[0] == shown


def test_the_readme_points_here():
    assert "docs/alerts.md" in README and "corcypower alerts" in README
