"""Geometry for server-rendered SVG charts (the forecast band, risk sparklines).

Plain functions from numbers to coordinates, so templates only place shapes and the
arithmetic is testable without rendering anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from invoices.charts import nice_ceiling, short_money


@dataclass
class ForecastChart:
    width: int
    height: int
    left: int
    bottom: int
    band: str  # polygon points
    line: str  # polyline points
    bars: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)


def forecast_chart(
    weeks: list[dict], *, width: int = 720, height: int = 260, left: int = 64, bottom: int = 36
) -> ForecastChart:
    """Expected cash per week as bars, with the 80% band as a shaded polygon around a line
    through the expected values."""
    top = 12
    plot_w = width - left - 12
    plot_h = height - bottom - top
    y_max = nice_ceiling(max([w["upper"] for w in weeks] + [1.0]))
    n = max(len(weeks), 1)
    slot = plot_w / n

    def x(i: int) -> float:
        return left + slot * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    upper = [f"{x(i):.1f},{y(w['upper']):.1f}" for i, w in enumerate(weeks)]
    lower = [f"{x(i):.1f},{y(w['lower']):.1f}" for i, w in reversed(list(enumerate(weeks)))]
    bars = [
        {
            "x": round(x(i) - slot * 0.3, 1),
            "y": round(y(w["expected"]), 1),
            "w": round(slot * 0.6, 1),
            "h": round(plot_h * w["expected"] / y_max, 1),
            "week": w,
        }
        for i, w in enumerate(weeks)
    ]
    ticks = [
        {"y": round(y(y_max * k / 4), 1), "label": short_money(y_max * k / 4)} for k in range(5)
    ]
    labels = [
        {"x": round(x(i), 1), "y": height - bottom + 16, "text": w["start"][5:]}
        for i, w in enumerate(weeks)
    ]
    return ForecastChart(
        width=width,
        height=height,
        left=left,
        bottom=height - bottom,
        band=" ".join(upper + lower),
        line=" ".join(f"{x(i):.1f},{y(w['expected']):.1f}" for i, w in enumerate(weeks)),
        bars=bars,
        ticks=ticks,
        labels=labels,
    )


def sparkline(
    values: list[float], *, width: int = 160, height: int = 32, top: float = 100.0
) -> str:
    """Polyline points for 0..top values spread evenly across the width."""
    if not values:
        return ""
    if len(values) == 1:
        values = [values[0], values[0]]
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * min(max(v, 0.0), top) / top:.1f}"
        for i, v in enumerate(values)
    )


@dataclass
class BarChart:
    width: int
    height: int
    left: int
    bars: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)


def bar_chart(labels: list[str], values: list[float], *, width: int = 900) -> BarChart | None:
    """Bars for one numeric column by label (Ask answers, small rankings); None when the
    values cannot be drawn (nothing positive to show)."""
    if not values or max(values) <= 0:
        return None
    height, left, bottom, top = 260, 70, 40, 10
    ceiling = nice_ceiling(max(values))
    plot_h, step = height - bottom - top, (width - left) / len(values)
    chart = BarChart(width=width, height=height, left=left)
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_h * (1 - fraction)
        chart.ticks.append({"y": round(y, 1), "label": short_money(ceiling * fraction)})
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = plot_h * max(value, 0) / ceiling
        chart.bars.append(
            {
                "x": round(left + index * step + step * 0.15, 1),
                "y": round(top + plot_h - bar_h, 1),
                "w": round(step * 0.7, 1),
                "h": round(bar_h, 1),
                "label": label,
                "label_x": round(left + index * step + step / 2, 1),
                "label_y": height - bottom + 16,
                "value": value,
                "show_label": len(values) <= 16 or index % max(1, len(values) // 12) == 0,
            }
        )
    return chart
