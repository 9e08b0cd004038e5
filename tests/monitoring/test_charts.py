"""The SVG line chart (``monitoring.charts``) and the trend lines drawn with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring.charts import Level, Series, line_chart, value_range
from monitoring.trend import DropRule, Sample, trailing_average, trend_series

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=30)


def day(n: int) -> datetime:
    return START + timedelta(days=n)


def test_it_returns_an_accessible_svg_with_one_path_per_series() -> None:
    svg = line_chart(
        [Series("count", [(day(1), 10), (day(2), 12)], "value", markers=True)],
        [Level("minimum", 5, "bound")],
        start=START,
        end=END,
        title="count of wikicfp",
        description="2 runs",
    )
    assert svg.startswith('<svg class="chart"') and svg.endswith("</svg>")
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in svg
    assert svg.count('<path class="chart-line value"') == 1
    assert svg.count('<circle class="chart-dot value"') == 2
    assert '<line class="chart-level bound"' in svg and "<title>minimum: 5</title>" in svg


def test_text_is_escaped() -> None:
    svg = line_chart(
        [Series('<script>"x"</script>', [(day(1), 1)], "value")],
        [Level("<b>min</b>", 1, 'bound" onload="alert(1)')],
        start=START,
        end=END,
        title="<img src=x>",
    )
    assert "<script>" not in svg and "<img" not in svg and "<b>" not in svg
    assert 'onload="alert(1)"' not in svg
    assert "&lt;script&gt;" in svg


def test_a_gap_in_the_data_breaks_the_line() -> None:
    svg = line_chart(
        [Series("avg", [(day(1), 1), (day(2), None), (day(3), 2), (day(4), 3)], "average")],
        start=START,
        end=END,
        title="t",
    )
    path = svg[svg.index(' d="') : svg.index('"><title>avg')]
    assert path.count("M") == 2 and path.count("L") == 1


def test_without_points_it_says_no_data() -> None:
    assert "No data" in line_chart([Series("count", [], "value")], start=START, end=END, title="t")


def test_the_value_axis_starts_at_zero_and_ends_on_a_round_number() -> None:
    assert value_range([730, 1480]) == (0.0, 2000.0)
    assert value_range([]) == (0.0, 1.0)


def test_the_trailing_average_uses_the_runs_before_each_one() -> None:
    assert trailing_average([10, 20, 30, 40], window=2, min_history=2) == [None, None, 15, 25]


def test_a_drop_rule_draws_its_threshold_under_the_average() -> None:
    samples = [Sample(day(i), v) for i, v in enumerate([100, 100, 100, 100, 40])]
    series = trend_series(samples, START, "count", [DropRule("Volume drop", 30, 3, 3)])
    threshold = series[2]
    assert threshold.css == "threshold" and threshold.label.startswith("Volume drop: 70 %")
    assert [v for _, v in threshold.points] == [None, None, None, 70.0, 70.0]
