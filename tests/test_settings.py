"""Settings: defaults, every validation error, the docs generated from the table."""

from __future__ import annotations

import subprocess
import sys

import pytest

from corcypower import settings
from corcypower.errors import ConfigError
from tests.helpers import REPO


def load_text(tmp_path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return settings.load(path)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    return str(info.value)


def test_no_file_gives_the_original_corcypower_wiring(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.ENV_VAR, raising=False)
    monkeypatch.setattr(settings.config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    config = settings.load()
    assert config.source is None
    assert config["adc.chip"] == "mcp3008"
    assert config.spi_clock_hz == 1_350_000
    assert config["adc.sample_rate_hz"] * config["adc.batch_seconds"] >= 1000
    [main] = config.channels
    assert (main.name, main.adc_channel, main.kind, main.scale, main.voltage) == (
        "main",
        0,
        "current",
        0.27,
        237.0,
    )


def test_config_is_found_by_flag_then_environment_then_etc(monkeypatch, tmp_path):
    etc = tmp_path / "etc.toml"
    env = tmp_path / "env.toml"
    flag = tmp_path / "flag.toml"
    etc.write_text('[adc]\nchip = "mcp3208"\n')
    env.write_text('[adc]\nchip = "emulated"\n')
    flag.write_text('[adc]\nchip = "mcp3008"\n')
    monkeypatch.setattr(settings.config, "DEFAULT_CONFIG_PATH", etc)
    monkeypatch.delenv(settings.ENV_VAR, raising=False)
    assert settings.load()["adc.chip"] == "mcp3208"
    monkeypatch.setenv(settings.ENV_VAR, str(env))
    assert settings.load()["adc.chip"] == "emulated"
    assert settings.load(flag)["adc.chip"] == "mcp3008"


def test_mcp3208_clock_defaults_to_its_limit(tmp_path):
    config = load_text(tmp_path, '[adc]\nchip = "mcp3208"\n')
    assert config.spi_clock_hz == 1_000_000
    config = load_text(tmp_path, '[adc]\nchip = "emulated"\n[emulator]\nchip = "mcp3008"\n')
    assert config.spi_clock_hz == 1_350_000 and config.chip_model == "mcp3008"


def test_energymonitor_wiring(tmp_path):
    config = settings.load(REPO / "examples" / "energymonitor.toml")
    by_name = {c.name: c for c in config.channels}
    assert by_name["grid"].voltage == "mains_v"
    assert by_name["solar"].invert is True
    assert by_name["grid"].phase_deg == 1.5
    assert by_name["mains_v"].unit == "V" and by_name["grid"].unit == "A"


@pytest.mark.parametrize(
    "name",
    [
        "corcypower.toml",
        "energymonitor.toml",
        "emulator.toml",
        "three-phase.toml",
        "split-phase.toml",
    ],
)
def test_shipped_examples_are_valid(name):
    settings.load(REPO / "examples" / name)


@pytest.mark.parametrize(
    ("name", "amps"), [("three-phase.toml", 25.0), ("split-phase.toml", 200.0)]
)
def test_the_phase_examples_set_their_main_fuse(name, amps):
    assert settings.load(REPO / "examples" / name)["mains.fuse_amps"] == amps


def test_the_main_fuse_is_not_set_by_default_and_named_when_bad(tmp_path):
    assert settings.from_dict({})["mains.fuse_amps"] == 0
    with pytest.raises(ConfigError) as bad:
        load_text(tmp_path, "[mains]\nfuse_amps = 0.3\n")
    assert str(bad.value).endswith(
        "[mains] fuse_amps = 0.3: expected 0 (not set) or amps from 1 to 6300"
    )


def test_two_chips_give_sixteen_channels(tmp_path):
    tables = "".join(
        f'[[channels]]\nname = "c{cs}{ch}"\nadc_channel = {ch}\ncs = {cs}\nkind = "current"\nscale = 0.1\nvoltage = 230\n'
        for cs in (0, 1)
        for ch in range(8)
    )
    config = load_text(tmp_path, '[adc]\nchip = "mcp3208"\nsample_rate_hz = 1000\n' + tables)
    assert len(config.channels) == 16
    assert config.chip_selects() == [0, 1]


def test_current_channel_voltage_defaults(tmp_path):
    config = load_text(
        tmp_path,
        '[[channels]]\nname = "v"\nadc_channel = 0\nkind = "voltage"\nscale = 0.3\n'
        '[[channels]]\nname = "i"\nadc_channel = 1\nkind = "current"\nscale = 0.1\n',
    )
    assert config.channel("i").voltage == "v"  # the only voltage channel
    config = load_text(
        tmp_path,
        '[mains]\nvoltage = 120\n[[channels]]\nname = "i"\nadc_channel = 1\nkind = "current"\nscale = 0.1\n',
    )
    assert config.channel("i").voltage == 120.0  # no voltage channel: nominal volts


CHANNEL = '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\nscale = 0.1\n'


def channel_with(line: str) -> str:
    return CHANNEL + line + "\n"


# Every number is finite and bounded (before: NaN passed every range, and inf any "> 0").
NOT_FINITE_OR_OUT_OF_BOUNDS = [
    ("[store]\ncommit_seconds = nan\n", "[store] commit_seconds = nan: expected a number from"),
    ("[store]\ncommit_seconds = inf\n", "[store] commit_seconds = inf: expected a number from"),
    ("[adc]\nsample_rate_hz = nan\n", "[adc] sample_rate_hz = nan: expected a number from"),
    ("[adc]\nbatch_seconds = nan\n", "[adc] batch_seconds = nan: expected a number from"),
    ("[api]\nring_seconds = nan\n", "[api] ring_seconds = nan: expected a number from"),
    ("[store]\nraw_days = nan\n", "[store] raw_days = nan: expected a number from 1 to 3660"),
    ("[store]\nrollup_10s_days = nan\n", "[store] rollup_10s_days = nan: expected a number"),
    ("[store]\nrollup_10s_days = -inf\n", "[store] rollup_10s_days = -inf: expected a"),
    ("[mains]\nvoltage = inf\n", "[mains] voltage = inf: expected a number from 1.0 to 1000.0"),
    ("[mains]\nvoltage = nan\n", "[mains] voltage = nan: expected a number from 1.0 to 1000.0"),
    ("[mains]\nvoltage = 1e308\n", "[mains] voltage = 1e+308: expected a number from 1.0 to"),
    (channel_with("phase_deg = nan"), '("main").phase_deg = nan: expected a number from -45.0'),
    (channel_with("voltage = nan"), '("main").voltage = nan: expected volts from 1 to 1000'),
    (channel_with("voltage = inf"), '("main").voltage = inf: expected volts from 1 to 1000'),
    (CHANNEL.replace("scale = 0.1", "scale = inf"), '("main").scale = inf: expected a number'),
    (CHANNEL.replace("scale = 0.1", "scale = nan"), '("main").scale = nan: expected a number'),
    (
        CHANNEL.replace("scale = 0.1", "scale = 1e308"),
        ".scale = 1e+308: expected a number from",
    ),
    (CHANNEL.replace("scale = 0.1", "scale = 1e-9"), ".scale = 1e-09: expected a number from"),
    (
        "[emulator]\nseed = 99999999999999999999999\n",
        "[emulator] seed = 99999999999999999999999",
    ),
    ('[dashboard]\nallow_websocket_origin = ["pi:99999"]\n', 'expected a list of "host:port"'),
    ('[dashboard]\nstate_url = "http://pi:99999"\n', "with a port from 1 to 65535"),
    ('[api]\nallowed_hosts = ["pi.lan:8070"]\n', "expected a list of host names or addresses"),
    (
        "[api]\nmax_connections = 1e9\n",
        "[api] max_connections = 1000000000.0: expected a whole",
    ),
    ("[api]\ntimeout_seconds = nan\n", "[api] timeout_seconds = nan: expected a number from"),
]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            '[adc]\nchip = "mcp3009"\n',
            '[adc] chip = "mcp3009": expected one of "mcp3008", "mcp3208", "emulated"',
        ),
        ('[adc]\nchipp = "mcp3008"\n', "unknown key [adc] chipp (did you mean [adc] chip?)"),
        ("[nonsense]\nx = 1\n", "unknown key [nonsense] x; known sections: [adc], [mains],"),
        ("[adc]\nzzz = 1\n", "unknown key [adc] zzz; known keys: [adc] chip, [adc] spi_bus,"),
        (
            "[adc]\nsample_rate_hz = 10\n",
            "[adc] sample_rate_hz = 10: expected a number from 200 to 20000",
        ),
        ('[adc]\nsample_rate_hz = "fast"\n', '[adc] sample_rate_hz = "fast": expected a number'),
        ("[adc]\nspi_bus = 1.5\n", "[adc] spi_bus = 1.5: expected a whole number from 0 to 6"),
        ("[mains]\nfrequency_hz = 55\n", "[mains] frequency_hz = 55: expected one of 50, 60"),
        ("[mains]\nfrequency_hz = true\n", "[mains] frequency_hz = true: expected one of 50, 60"),
        (
            "[store]\ncommit_seconds = -1\n",
            "[store] commit_seconds = -1: expected a number from 0.0 to 3600.0",
        ),
        ('[store]\npath = ""\n', '[store] path = "": expected a non-empty string'),
        (
            "[emulator]\nclip_channels = [9]\n",
            "[emulator] clip_channels = [9]: expected a list of whole numbers from 0 to 7",
        ),
        (
            '[emulator]\ncircuits = { main = "toaster" }\n',
            "expected a table of channel name = circuit",
        ),
        ("[log]\nlevel = 3\n", "[log] level = 3: expected one of"),
        ("channels = 3\n", "channels: expected one or more [[channels]] tables"),
        (
            '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\n',
            '[[channels]] #1 ("main"): missing key scale',
        ),
        (
            '[[channels]]\nname = "main"\nadc_channel = 8\nkind = "current"\nscale = 0.1\n',
            '[[channels]] #1 ("main").adc_channel = 8: expected a whole number from 0 to 7',
        ),
        (
            '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "amps"\nscale = 0.1\n',
            '.kind = "amps": expected one of "voltage", "current"',
        ),
        (
            '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\nscale = 0\n',
            ".scale = 0: expected a number from 1e-06 to 100.0",
        ),
        (
            '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\nscale = 0.1\ngain = 2\n',
            '[[channels]] #1 ("main"): unknown key gain',
        ),
        (
            '[[channels]]\nname = "my main"\nadc_channel = 0\nkind = "current"\nscale = 0.1\n',
            '.name = "my main": expected 1 to 64 letters, digits, _ or -',
        ),
        (
            CHANNEL + CHANNEL.replace("adc_channel = 0", "adc_channel = 1"),
            '[[channels]] #2 ("main").name = "main": already used by [[channels]] #1',
        ),
        (
            CHANNEL + CHANNEL.replace('"main"', '"other"'),
            "adc_channel = 0: already used by [[channels]] #1",
        ),
        (
            CHANNEL.replace("scale = 0.1\n", 'scale = 0.1\nvoltage = "mains"\n'),
            'voltage = "mains": expected the name of a voltage channel (none configured) or a number of volts',
        ),
        (
            CHANNEL.replace("scale = 0.1\n", "scale = 0.1\nvoltage = 5000\n"),
            "voltage = 5000: expected volts from 1 to 1000",
        ),
        (
            CHANNEL.replace("scale = 0.1\n", "scale = 0.1\nvoltage = true\n"),
            "voltage = true: expected a voltage channel's name or volts",
        ),
        (
            CHANNEL.replace("scale = 0.1\n", "scale = 0.1\nphase_deg = 90\n"),
            "phase_deg = 90: expected a number from -45.0 to 45.0",
        ),
        (
            CHANNEL.replace("scale = 0.1\n", 'scale = 0.1\ninvert = "yes"\n'),
            'invert = "yes": expected true or false',
        ),
        (
            '[[channels]]\nname = "v"\nadc_channel = 1\nkind = "voltage"\nscale = 0.3\nvoltage = 230\n',
            '("v").voltage: only current channels take a voltage',
        ),
        (
            '[[channels]]\nname = "v"\nadc_channel = 1\ncs = 1\nkind = "voltage"\nscale = 0.3\n'
            + CHANNEL.replace("scale = 0.1\n", 'scale = 0.1\nvoltage = "v"\n'),
            "that voltage channel is on chip select 1, this current channel on 0",
        ),
        (
            "[adc]\nsample_rate_hz = 20000\n"
            + "".join(
                CHANNEL.replace('"main"', f'"c{i}"').replace("= 0\n", f"= {i}\n", 1)
                for i in range(8)
            ),
            "[adc] sample_rate_hz = 20000: too fast for 8 channels at 1350000 Hz SPI clock; expected at most",
        ),
        ("[adc\nchip = 1\n", "not valid TOML"),
    ]
    + NOT_FINITE_OR_OUT_OF_BOUNDS,
)
def test_every_config_error_names_file_key_value_and_expectation(tmp_path, text, expected):
    message = error_of(tmp_path, text)
    assert message.startswith(str(tmp_path / "c.toml") + ": ")
    assert expected in message


def test_deeply_nested_toml_is_a_clear_error(tmp_path):
    """Before: a RecursionError traceback from the TOML parser."""
    for value in ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000]:
        message = error_of(tmp_path, f"[adc]\nchip = {value}\n")
        assert message == f"{tmp_path / 'c.toml'}: arrays or tables nested too deeply for a config"


def test_a_huge_value_is_shown_short_on_one_line(tmp_path):
    message = error_of(tmp_path, '[adc]\nchip = """' + "x\n" * 10_000 + '"""\n')
    assert "\n" not in message and len(message) < len(str(tmp_path)) + 200
    assert '[adc] chip = "x\\nx\\nx' in message and '..." expected' not in message
    message = error_of(tmp_path, "[emulator]\nclip_channels = [" + "9, " * 10_000 + "]\n")
    assert "[emulator] clip_channels = [9, 9, 9" in message and len(message) < 300 + len(
        str(tmp_path)
    )


def test_a_huge_file_is_not_read_whole(tmp_path):
    message = error_of(tmp_path, "# " + "x" * 2_000_000 + "\n")
    assert message.endswith("larger than 1000000 bytes: not a config file")


def test_the_api_limits_and_allowed_hosts(tmp_path):
    config = load_text(
        tmp_path,
        '[api]\nallowed_hosts = ["House-Pi.LAN.", "[fe80::1]", "10.0.0.2"]\n'
        "max_connections = 64\ntimeout_seconds = 5\n",
    )
    assert config["api.allowed_hosts"] == ["house-pi.lan", "fe80::1", "10.0.0.2"]
    assert (config["api.max_connections"], config["api.timeout_seconds"]) == (64, 5.0)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"absent\.toml: no such config file"):
        settings.load(tmp_path / "absent.toml")


def test_more_than_sixteen_channels(tmp_path):
    tables = "".join(CHANNEL.replace('"main"', f'"c{i}"') for i in range(17))
    assert "17 [[channels]]: at most 16" in error_of(tmp_path, tables)


def test_every_setting_has_help_and_a_valid_default():
    for s in settings.SETTINGS + settings.CHANNEL_SETTINGS:
        assert s.help.strip(), s.name
        if s.default is not None and s.name != "voltage":
            assert s.check(s.default) == s.default, s.name


def test_docs_settings_md_is_generated_from_the_table():
    """docs/settings.md is `corcypower settings`; regenerate it after changing a setting."""
    assert (REPO / "docs" / "settings.md").read_text() == settings.markdown()
    for s in settings.SETTINGS:
        section, _, key = s.name.rpartition(".")
        assert f"## [{section}]" in settings.markdown() and f"`{key}`" in settings.markdown()


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("store", "commit_seconds", "nan"),
        ("adc", "batch_seconds", "nan"),  # (the tests' config sets sample_rate_hz)
        ("api", "ring_seconds", "nan"),
    ],
)
def test_the_daemon_refuses_a_number_that_is_not_finite_in_one_line(
    emulated_config, section, key, value
):
    """Before: a daemon that committed only its first batch, or a traceback at start-up."""
    if key == "commit_seconds":
        path = emulated_config(commit=float(value))
    else:
        path = emulated_config({section: f"{key} = {value}"})
    run = subprocess.run(
        [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode in (1, 2) and "Traceback" not in run.stderr
    [message] = run.stderr.strip().splitlines()
    assert f"{path}: [{section}] {key} = {value}: expected a number from" in message
    assert not (path.parent / "power.db").exists()
