"""The SVG chart helpers: pure functions, checked directly."""
import re

import pytest

from console import charts


def _values(svg, tag):
    return [float(v) for v in re.findall(rf'<{tag} class="[^"]*" data-value="([^"]+)"', str(svg))]


@pytest.mark.parametrize("values, drawn", [
    ([0.5, 1.0, 0.25], [0.5, 1.0, 0.25]),
    ([None, 0.8, None], [0.8]),
    ([0.0, 0.0], [0.0, 0.0]),
])
def test_bar_chart_draws_one_bar_per_known_value(values, drawn):
    svg = charts.bar_chart([f"W{i}" for i in range(len(values))], values, "学习完成率")
    assert _values(svg, "rect") == drawn
    assert str(svg).startswith("<svg") and 'aria-label="学习完成率"' in str(svg)


def test_bar_heights_are_proportional_to_values():
    svg = str(charts.bar_chart(["a", "b"], [0.5, 1.0], "t"))
    heights = [float(h) for h in re.findall(r'<rect[^>]* height="([\d.]+)"', svg)]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.01)


def test_line_chart_breaks_the_line_at_missing_weeks():
    svg = str(charts.line_chart(["a", "b", "c", "d"], [("参与率", [0.5, None, 0.7, 0.9])], "t"))
    assert svg.count("<polyline") == 2
    assert _values(svg, "circle") == [0.5, 0.7, 0.9]


def test_labels_and_titles_are_escaped():
    svg = str(charts.bar_chart(["<b>"], [0.5], "a&b"))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        charts.bar_chart(["a"], [0.1, 0.2], "t")


@pytest.mark.parametrize("values, top", [([3, 7], 8), ([12, 40], 50), ([0, None], 1), ([99], 100)])
def test_count_axis_rounds_up(values, top):
    assert charts._scale(values, None) == top


def test_week_label():
    assert charts.week_label("2026-W07") == "W07"


def _label_boxes(svg):
    """The box of each value label: about 6.2 units a character at font-size 11, 11 units high above its baseline."""
    boxes = []
    for x, y, text in re.findall(r'<text class="value[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]+)</text>', str(svg)):
        width = 6.2 * len(text)
        boxes.append((float(x) - width / 2, float(y) - 11, float(x) + width / 2, float(y)))
    return boxes


@pytest.mark.parametrize("participation, pass_rate", [
    ([0.70, 0.82, 0.60, 0.9], [0.85, 0.80, 0.75, 0.91]),  # the pass rate runs above participation
    ([1.0, 1.0, 0.95, 0.0], [1.0, 0.97, 1.0, 0.0]),       # equal, touching the top and the bottom
])
def test_two_close_lines_never_write_their_percentages_over_each_other(participation, pass_rate):
    labels = [f"W{i}" for i in range(len(participation))]
    svg = charts.line_chart(labels, [("参与率", participation), ("合格率", pass_rate)], "测验")
    boxes = _label_boxes(svg)
    assert len(boxes) == 2 * len(labels)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (a, b)
