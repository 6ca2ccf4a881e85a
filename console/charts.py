"""Inline SVG charts drawn on the server: they need no JavaScript library and work on an intranet."""
from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 12, 16, 30


def _fmt(value, percent):
    if value is None:
        return "无数据"
    return f"{value * 100:.0f}%" if percent else f"{value:g}"


def _scale(values, ceiling):
    """The top of the y axis: the ceiling if given (1.0 for rates), else the largest value rounded up."""
    if ceiling is not None:
        return ceiling
    top = max([v for v in values if v is not None] or [0])
    if top <= 0:
        return 1
    step = 10 ** (len(str(int(top))) - 1)
    return ((int(top) // step) + 1) * step


def _axes(top, percent, title):
    parts = [f'<title>{escape(title)}</title>']
    for i in range(5):
        y = PAD_TOP + (HEIGHT - PAD_TOP - PAD_BOTTOM) * i / 4
        value = top * (4 - i) / 4
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(_fmt(value, percent))}</text>')
    return parts


def _x(i, n):
    span = WIDTH - PAD_LEFT - PAD_RIGHT
    return PAD_LEFT + span * (i + 0.5) / max(n, 1)


def _y(value, top):
    return HEIGHT - PAD_BOTTOM - (HEIGHT - PAD_TOP - PAD_BOTTOM) * min(max(value, 0), top) / top


def _labels(labels):
    n = len(labels)
    return [f'<text class="label" x="{_x(i, n):.1f}" y="{HEIGHT - 10}" text-anchor="middle">{escape(label)}</text>'
            for i, label in enumerate(labels)]


def bar_chart(labels, values, title, percent=True, ceiling=None):
    """An SVG bar chart of one series; None values draw no bar. Returns safe markup."""
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    top = _scale(values, 1.0 if percent and ceiling is None else ceiling)
    n = len(values)
    bar = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(n, 1) * 0.6
    parts = _axes(top, percent, title)
    for i, value in enumerate(values):
        if value is None:
            continue
        y = _y(value, top)
        parts.append(f'<rect class="bar" data-value="{value}" x="{_x(i, n) - bar / 2:.1f}" y="{y:.1f}" '
                     f'width="{bar:.1f}" height="{HEIGHT - PAD_BOTTOM - y:.1f}" rx="3">'
                     f'<title>{escape(labels[i])}：{escape(_fmt(value, percent))}</title></rect>')
        parts.append(f'<text class="value" x="{_x(i, n):.1f}" y="{y - 5:.1f}" text-anchor="middle">'
                     f'{escape(_fmt(value, percent))}</text>')
    parts += _labels(labels) + _empty_note(values)
    return _svg(parts, title, "bar")


def line_chart(labels, series, title, percent=True, ceiling=None):
    """An SVG line chart of one or more named series [(name, values)]; gaps where a value is None."""
    for _, values in series:
        if len(values) != len(labels):
            raise ValueError("labels and values differ in length")
    every = [v for _, values in series for v in values]
    top = _scale(every, 1.0 if percent and ceiling is None else ceiling)
    n = len(labels)
    parts = _axes(top, percent, title)
    for index, (name, values) in enumerate(series):
        points, segments = [], []
        for i, value in enumerate(values):
            if value is None:
                if points:
                    segments.append(points)
                points = []
                continue
            points.append((_x(i, n), _y(value, top), value, i))
        if points:
            segments.append(points)
        for segment in segments:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in segment)
            parts.append(f'<polyline class="line s{index}" points="{path}"/>')
            for x, y, value, i in segment:
                parts.append(f'<circle class="dot s{index}" data-value="{value}" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                             f'<title>{escape(name)} {escape(labels[i])}'
                             f'：{escape(_fmt(value, percent))}</title></circle>')
                dy = _label_dy(series, index, i, y, top)
                parts.append(f'<text class="value s{index}" x="{x:.1f}" y="{y + dy:.1f}" text-anchor="middle">'
                             f'{escape(_fmt(value, percent))}</text>')
    parts += _labels(labels) + _empty_note(every)
    return _svg(parts, title, "line")


ABOVE, BELOW, LINE = -7, 15, 13  # a value label's baseline from its dot, and one more label's height


def _label_dy(series, index, i, y, top):
    """Where a value's label goes: the higher line's above its dot, the lower's below, so two close lines never
    write their labels over each other (equal values: the first series above). Near the top or the bottom edge a label
    goes to the side that fits, and a second label on that side stacks one line further out."""
    value = series[index][1][i]
    rank = sum(1 for k, (_, values) in enumerate(series) if k != index and values[i] is not None
               and (values[i] > value or (values[i] == value and k < index)))
    fits_above = y + ABOVE - 11 >= 0
    fits_below = y + BELOW <= HEIGHT - PAD_BOTTOM + 4
    if rank == 0:
        return ABOVE if fits_above else BELOW
    higher = next(values[i] for k, (_, values) in enumerate(series) if k != index and values[i] is not None
                  and (values[i] > value or (values[i] == value and k < index)))
    higher_above = _y(higher, top) + ABOVE - 11 >= 0
    if fits_below and (higher_above or y + BELOW + LINE <= HEIGHT - PAD_BOTTOM + 4):
        return BELOW if higher_above else BELOW + LINE
    return ABOVE - LINE if higher_above else ABOVE


def _empty_note(values):
    # An empty chart says so, rather than looking broken.
    if any(v is not None for v in values):
        return []
    return [f'<text class="empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle">暂无数据</text>']


def _svg(parts, title, kind):
    return Markup(f'<svg class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
                  f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>")


def week_label(week_key):
    """'2026-W47' → 'W47', short enough for an axis."""
    return "W" + week_key.split("-W")[1]
