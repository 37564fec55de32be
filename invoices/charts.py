"""Geometry for small server-rendered SVG charts: plain functions from numbers to coordinates,
so templates only place shapes and the arithmetic is testable without rendering anything.
(predictions/charts.py builds the forecast band on the same helpers.)"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def nice_ceiling(value: float) -> float:
    """The next "round" number at or above value (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def short_money(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.0f}"


@dataclass
class BarChart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    line: str = ""  # polyline points of a second series, scaled to its own maximum


def bar_chart(
    values: list[float],
    labels: list[str],
    *,
    titles: list[str] | None = None,
    line: list[float] | None = None,
    line_max: float | None = None,
    width: int = 720,
    height: int = 200,
    left: int = 56,
    bottom: int = 28,
    max_labels: int = 12,
) -> BarChart:
    """Bars for ``values`` (with every n-th label so they never overlap) and, optionally, a
    line for a second series drawn against its own scale (e.g. a rate over counts)."""
    top = 10
    plot_w = width - left - 8
    plot_h = height - bottom - top
    y_max = nice_ceiling(max([*values, 0.0]))
    n = max(len(values), 1)
    slot = plot_w / n
    every = max(1, math.ceil(n / max_labels))
    bars = []
    for i, value in enumerate(values):
        h = plot_h * value / y_max
        bars.append(
            {
                "x": round(left + slot * i + slot * 0.15, 1),
                "y": round(top + plot_h - h, 1),
                "w": round(max(slot * 0.7, 1.0), 1),
                "h": round(h, 1),
                "cx": round(left + slot * (i + 0.5), 1),
                "label": labels[i] if i % every == 0 else "",
                "title": titles[i] if titles else f"{labels[i]}: {value:g}",
            }
        )
    ticks = [
        {"y": round(top + plot_h * (1 - k / 4), 1), "label": short_money(y_max * k / 4)}
        for k in range(5)
    ]
    points = ""
    if line:
        line_max = line_max or nice_ceiling(max([*line, 0.0]))
        points = " ".join(
            f"{left + slot * (i + 0.5):.1f},{top + plot_h * (1 - v / line_max):.1f}"
            for i, v in enumerate(line)
        )
    return BarChart(
        width=width,
        height=height,
        left=left,
        baseline=top + plot_h,
        bars=bars,
        ticks=ticks,
        line=points,
    )


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    points: str
    dots: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)


def line_chart(
    values: list[float | None],
    labels: list[str],
    *,
    titles: list[str],
    width: int = 480,
    height: int = 150,
    left: int = 48,
    bottom: int = 22,
    percent: bool = False,
) -> LineChart:
    """A line through the known values (None leaves a gap in the dots, not in the axis)."""
    top = 10
    plot_w = width - left - 30  # room for the last month's label
    plot_h = height - bottom - top
    known = [v for v in values if v is not None]
    y_max = (
        100.0 if percent and max(known, default=0) <= 100 else nice_ceiling(max(known, default=0))
    )
    n = max(len(values) - 1, 1)
    dots = []
    for i, value in enumerate(values):
        if value is None:
            continue
        dots.append(
            {
                "x": round(left + plot_w * i / n, 1),
                "y": round(top + plot_h * (1 - value / y_max), 1),
                "title": titles[i],
            }
        )
    ticks = [
        {
            "y": round(top + plot_h * (1 - k / 2), 1),
            "label": f"{y_max * k / 2:.0f}" if percent else short_money(y_max * k / 2),
        }
        for k in range(3)
    ]
    every = 3 if len(values) > 6 else 1
    label_marks = [
        {"x": round(left + plot_w * i / n, 1), "text": text}
        for i, text in enumerate(labels)
        if i % every == (len(labels) - 1) % every
    ]
    return LineChart(
        width=width,
        height=height,
        left=left,
        points=" ".join(f"{d['x']},{d['y']}" for d in dots),
        dots=dots,
        ticks=ticks,
        labels=label_marks,
    )


def days_late_chart(rows: list[dict], *, width: int = 640, height: int = 160) -> dict:
    """Days late per paid invoice (oldest first) as dots and a line, with a zero (due) line;
    the axis spans the early/late range symmetrically enough to show both."""
    left, top, bottom, right = 40, 10, 22, 12
    values = [row["days_late"] for row in rows]
    high = nice_ceiling(max([*values, 1]))
    low = -nice_ceiling(max([-v for v in values] + [1]))
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(values) - 1, 1)

    def y(v: float) -> float:
        return round(top + plot_h * (high - v) / (high - low), 1)

    dots = [
        {
            "x": round(left + plot_w * i / n, 1),
            "y": y(row["days_late"]),
            "late": row["days_late"] > 0,
            "title": f"{row['number']}: due {row['due_date']}, paid {row['paid_date']}, "
            f"{row['days_late']:+d} days",
        }
        for i, row in enumerate(rows)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "zero": y(0),
        "ticks": [{"y": y(v), "label": f"{v:+.0f}" if v else "due"} for v in (high, 0, low)],
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "first": rows[0]["paid_date"],
        "last": rows[-1]["paid_date"],
    }
