"""Capture files: written, read back, and every format error named by file and line."""

from __future__ import annotations

import io

import numpy as np
import pytest

from corcypower import capture
from corcypower.errors import CaptureFormatError

HEADER = "# corcypower capture chip=mcp3008 frame_us=250.000\n"


def write(path, chip="mcp3208", frame_us=166.667, channels=(1, 0, 5), scans=1000, blocks=3):
    rng = np.random.default_rng(0)
    full = 1023 if chip == "mcp3008" else 4095
    t_all, counts_all = [], []
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = capture.CaptureWriter(f, chip, frame_us, list(channels))
        for b in range(blocks):  # as `corcypower capture` does: one write per block
            t = (b * scans + np.arange(scans)) * len(channels) * frame_us * 1e-6
            counts = rng.integers(0, full + 1, size=(scans, len(channels)))
            writer.write(t, counts)
            t_all.append(t)
            counts_all.append(counts)
    return np.concatenate(t_all), np.concatenate(counts_all)


def error_of(tmp_path, text: str, name="bad.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaptureFormatError) as info:
        capture.read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize("chip", ["mcp3008", "mcp3208"])
def test_round_trip(tmp_path, chip):
    path = tmp_path / "c.csv"
    t, counts = write(path, chip=chip)
    cap = capture.read(path)
    assert (cap.chip, cap.frame_us, cap.channels) == (chip, 166.667, [1, 0, 5])
    np.testing.assert_array_equal(cap.counts, counts)
    assert cap.counts.dtype == np.int64
    np.testing.assert_allclose(cap.t, t, atol=0.5e-6)  # written to the µs
    assert cap.duration == pytest.approx(3000 * 3 * 166.667e-6, rel=1e-6)
    np.testing.assert_allclose(cap.sample_times(2), cap.t + 2 * 166.667e-6)


def test_file_looks_as_documented(tmp_path):
    stream = io.StringIO()
    writer = capture.CaptureWriter(stream, "mcp3208", 250.0, [1, 0])
    writer.write(np.array([0.0, 0.0005]), np.array([[2051, 2047], [2100, 1990]]))
    assert stream.getvalue() == (
        "# corcypower capture chip=mcp3208 frame_us=250.000\n"
        "t,ch1,ch0\n"
        "0.000000,2051,2047\n"
        "0.000500,2100,1990\n"
    )


def test_pandas_reads_a_capture(tmp_path):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    path = tmp_path / "c.csv"
    t, counts = write(path, channels=(3, 4), scans=50, blocks=2)
    frame = pd.read_csv(path, comment="#")
    assert list(frame.columns) == ["t", "ch3", "ch4"]
    np.testing.assert_array_equal(frame[["ch3", "ch4"]].to_numpy(), counts)
    np.testing.assert_allclose(frame["t"].to_numpy(), t, atol=0.5e-6)


def test_numpy_reads_a_capture(tmp_path):
    path = tmp_path / "c.csv"
    _, counts = write(path, channels=(0,), scans=10, blocks=1)
    data = np.loadtxt(path, delimiter=",", skiprows=2)
    np.testing.assert_array_equal(data[:, 1], counts[:, 0])


def test_spreadsheet_habits_are_tolerated(tmp_path):
    path = tmp_path / "excel.csv"
    text = "\ufeff" + HEADER + "t, ch0\r\n0,1\r\n\r\n0.001,2\r\n"  # BOM, CRLF, blank line
    path.write_text(text, encoding="utf-8")
    cap = capture.read(path)
    assert cap.channels == [0] and cap.counts[:, 0].tolist() == [1, 2]


def test_writer_refuses_what_the_reader_would(tmp_path):
    stream = io.StringIO()
    with pytest.raises(ValueError, match="chip 'emulated'"):
        capture.CaptureWriter(stream, "emulated", 100.0, [0])
    with pytest.raises(ValueError, match="distinct ADC channels 0 to 7"):
        capture.CaptureWriter(stream, "mcp3008", 100.0, [0, 0])
    with pytest.raises(ValueError, match="distinct ADC channels 0 to 7"):
        capture.CaptureWriter(stream, "mcp3008", 100.0, [8])
    writer = capture.CaptureWriter(stream, "mcp3008", 100.0, [0, 1])
    with pytest.raises(ValueError, match=r"expected \(2, 2\)"):
        writer.write(np.array([0.0, 1.0]), np.zeros((2, 3)))


# --- every format error names the file and the line ------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(CaptureFormatError, match=r"nope\.csv: no such capture file"):
        capture.read(tmp_path / "nope.csv")


def test_unreadable_file(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CaptureFormatError, match=r"binary\.csv: cannot read"):
        capture.read(path)
    with pytest.raises(CaptureFormatError, match="cannot read"):
        capture.read(tmp_path)  # a directory


@pytest.mark.parametrize(
    "first",
    [
        "",
        "t,ch0",
        "# corcypower capture",
        "# corcypower capture chip=mcp3008",
        "# some other file chip=mcp3008 frame_us=10",
    ],
)
def test_bad_first_line(tmp_path, first):
    message = error_of(tmp_path, first + "\nt,ch0\n0,1\n1,2\n")
    assert "line 1:" in message and "expected '# corcypower capture chip=<chip>" in message


def test_bad_chip(tmp_path):
    message = error_of(tmp_path, "# corcypower capture chip=mcp3004 frame_us=10\nt,ch0\n")
    assert "line 1: chip=mcp3004: expected mcp3008 or mcp3208" in message


@pytest.mark.parametrize("value", ["0", "0.000", "-5", "1e", "+-", "1e999", "1e300", "0.5", "2e5"])
def test_bad_frame_us(tmp_path, value):
    # 1e300 µs between conversions once gave empty power and no flag: now it is named
    message = error_of(tmp_path, f"# corcypower capture chip=mcp3008 frame_us={value}\nt,ch0\n")
    assert f"line 1: frame_us={value}: expected the µs between conversions, from 1 to 100000" in (
        message
    )


@pytest.mark.parametrize(
    "header", ["", "t", "time,ch0", "t,ch8", "t,ch-1", "t,CH0", "t,foo", "t,ch0,", "ch0,t"]
)
def test_bad_column_header(tmp_path, header):
    message = error_of(tmp_path, HEADER + header + "\n0,1\n1,2\n")
    assert "line 2:" in message and "expected a header t,ch<N>,... with N from 0 to 7" in message


def test_missing_column_header(tmp_path):
    assert "line 2:" in error_of(tmp_path, HEADER)


def test_channel_twice(tmp_path):
    message = error_of(tmp_path, HEADER + "t,ch0,ch2,ch0\n")
    assert "line 2: column ch0 appears twice" in message


@pytest.mark.parametrize("value", ["abc", "", "0x10", "1;2"])
def test_non_numeric_value(tmp_path, value):
    message = error_of(tmp_path, HEADER + f"t,ch0,ch1\n0,1,2\n0.1,{value},3\n0.2,1,2\n")
    assert "line 4:" in message and "expected numbers" in message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_value(tmp_path, value):
    message = error_of(tmp_path, HEADER + f"t,ch0\n0,1\n{value},3\n")
    assert "line 4:" in message and "expected finite numbers" in message


@pytest.mark.parametrize("row", ["0.1,5", "0.1,5,6,7", "0.1"])
def test_wrong_column_count(tmp_path, row):
    message = error_of(tmp_path, HEADER + f"t,ch0,ch1\n0,1,2\n\n{row}\n0.2,1,2\n")
    assert "line 5:" in message and "expected 3 (t and 2 channels)" in message


@pytest.mark.parametrize(
    "chip, bad", [("mcp3008", "1024"), ("mcp3008", "-1"), ("mcp3208", "4096"), ("mcp3208", "2.5")]
)
def test_counts_out_of_range(tmp_path, chip, bad):
    header = f"# corcypower capture chip={chip} frame_us=100\n"
    full = 1023 if chip == "mcp3008" else 4095
    message = error_of(tmp_path, header + f"t,ch0\n0,{full}\n0.1,0\n\n0.2,{bad}\n")
    assert f"line 6: expected whole counts from 0 to {full} ({chip})" in message


@pytest.mark.parametrize("t", ["0.1", "0.05"])
def test_t_must_increase(tmp_path, t):
    message = error_of(tmp_path, HEADER + f"t,ch0\n0,1\n0.1,1\n\n{t},1\n0.3,1\n")
    assert "line 6: t must increase from scan to scan" in message


@pytest.mark.parametrize("body", ["", "0,1\n", "\n0,1\n\n"])
def test_fewer_than_two_scans(tmp_path, body):
    message = error_of(tmp_path, HEADER + "t,ch0\n" + body)
    assert "scans: expected at least two" in message


@pytest.mark.parametrize("t", ["-0.5", "2e10", "1e300"])
def test_t_out_of_range(tmp_path, t):
    message = error_of(tmp_path, HEADER + f"t,ch0\n0,1\n0.1,1\n{t},1\n")
    assert f"line 5: t = {float(t):g}: expected seconds from 0 to 1e+10" in message


def test_the_chip_is_read_from_the_first_line_alone(tmp_path):
    path = tmp_path / "c.csv"
    write(path, chip="mcp3008", scans=10, blocks=1)
    assert capture.read_chip(path) == "mcp3008"
    path.write_text("# corcypower capture chip=mcp3208 frame_us=250\nnot even a header\n")
    assert capture.read_chip(path) == "mcp3208"
    with pytest.raises(CaptureFormatError, match="no such capture file"):
        capture.read_chip(tmp_path / "nope.csv")
