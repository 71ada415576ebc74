"""The figures: phone-sized labels that cannot collide, legends above, readable empty axes."""

from __future__ import annotations

import re

import pytest
from bokeh.models import BasicTickFormatter, ColumnDataSource, DataRange1d, NoOverlap, Range1d

from corcypower.dashboard import data, figures
from tests.dashboard.helpers import HOUSE, config

VIEW = data.View.from_config(config(**HOUSE))


def all_figures():
    live = ColumnDataSource(data.live_columns(VIEW, [], None))
    history = {
        n: ColumnDataSource({"x": [], "mean": [], "min": [], "max": []}) for n in VIEW.currents
    }
    energy = ColumnDataSource(data.empty_energy_columns(VIEW))
    shared = Range1d(0, 1)
    return [
        figures.live_figure(VIEW, live),
        figures.history_figure(VIEW, history, 0, 1),
        figures.use_figure(VIEW, energy, shared),
        figures.grid_figure(VIEW, energy, shared, "EUR"),
    ]


@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_time_labels_are_short_few_and_never_drawn_over_each_other(fig):
    axis = fig.xaxis[0]
    assert isinstance(axis.major_label_policy, NoOverlap)
    assert axis.ticker.desired_num_ticks <= 4
    assert axis.formatter.days == "%d %b" and axis.formatter.hours == "%H:%M"


@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_an_empty_or_flat_plot_has_a_readable_y_axis(fig):
    assert isinstance(fig.yaxis[0].formatter, BasicTickFormatter)
    assert fig.yaxis[0].formatter.use_scientific is False  # never 4.000e-4
    assert isinstance(fig.y_range, DataRange1d) and fig.y_range.min_interval >= 1.0


@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_the_legend_is_above_the_data_and_hides_a_series_when_tapped(fig):
    (legend,) = fig.above[-1:]
    assert legend.orientation == "horizontal" and legend.click_policy == "hide"
    assert not fig.center or all(type(m).__name__ != "Legend" for m in fig.center)


@pytest.mark.parametrize(
    "fig",
    [
        *all_figures(),
        figures.gauge_figure(VIEW, ColumnDataSource({"x1": [], "y1": [], "label": []})),
    ],
    ids=lambda f: f.name,
)
def test_no_text_in_a_plot_is_under_11_px(fig):
    sizes = []
    for model in fig.references():
        for prop in (
            "major_label_text_font_size",
            "axis_label_text_font_size",
            "label_text_font_size",
            "text_font_size",
        ):
            value = getattr(model, prop, None)
            value = value.get("value") if isinstance(value, dict) else value
            if isinstance(value, str) and value.endswith("px"):
                sizes.append(float(re.match(r"[\d.]+", value).group()))
    assert sizes and min(sizes) >= 11


def test_the_circuits_are_stacked_with_untracked_last():
    use = all_figures()[2]
    legend = use.above[-1]
    assert [item.label.value for item in legend.items] == ["fridge", "kettle", "oven", "untracked"]


@pytest.mark.parametrize(
    ("labels", "columns"),
    [
        (["main", "solar"], 2),
        (["l1", "l2", "l3", "heat_pump", "total"], 4),  # examples/three-phase.toml's live plot
        (["main", "solar", "fridge", "kettle", "oven", "washer", "lighting"], 3),
        (["a_rather_long_channel_name", "another_long_channel_name"], 1),
    ],
)
def test_a_legend_row_holds_what_fits_beside_a_phones_y_axis(labels, columns):
    assert figures.legend_columns(labels) == columns
    widths = [
        figures.LEGEND_ITEM_PX + figures.LEGEND_CHAR_PX * max(map(len, labels[c::columns]))
        for c in range(columns)
    ]
    assert columns == 1 or sum(widths) <= figures.LEGEND_ROW_PX
