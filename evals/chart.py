"""The geometry of a server-rendered SVG chart: one score per run, over time, a line per model.

Pure Python, no Django: `build_chart` turns points into coordinates, ticks and a legend, and
`templates/evals/chart.svg` draws them with SVG presentation attributes (fill, stroke), which
the strict CSP allows where a style attribute would be refused. The same points are always shown
as a table beside the chart, so nothing depends on seeing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# GOV.UK Design System colours: distinct from each other and at least 3:1 against white.
PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#4c2c92", "#b58840", "#28a197", "#912b88", "#505a5f")

WIDTH, HEIGHT = 720, 360
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 24, 24, 56
LEGEND_ROW = 22


@dataclass(frozen=True)
class Point:
    model: str
    at: datetime
    value: float
    stderr: float | None = None
    label: str = ""  # what the point's tooltip says beyond model, time and value


def _c(value: float) -> str:
    """A coordinate as SVG text: fixed, locale-free, one decimal."""
    return f"{value:.1f}"


@dataclass(frozen=True)
class Dot:
    x: str
    y: str
    title: str
    # The stderr whisker, when the run states one.
    low: str | None = None
    high: str | None = None


@dataclass
class Line:
    model: str
    colour: str
    dots: list[Dot] = field(default_factory=list)

    @property
    def path(self) -> str:
        return " ".join(f"{dot.x},{dot.y}" for dot in self.dots)


@dataclass(frozen=True)
class Tick:
    position: str
    label: str


@dataclass
class Chart:
    title: str
    description: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    y_label: str

    @property
    def points(self) -> int:
        return sum(len(line.dots) for line in self.lines)

    @property
    def legend(self) -> list[tuple[Line, int, int]]:
        """Each model's line with the y of its legend swatch and text, below the plot."""
        return [(line, HEIGHT + i * LEGEND_ROW + 4, HEIGHT + i * LEGEND_ROW + 16) for i, line in enumerate(self.lines)]

    # Derived positions, so the template does no arithmetic.
    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def middle_x(self) -> int:
        return (self.left + self.right) // 2

    @property
    def middle_y(self) -> int:
        return (self.top + self.bottom) // 2

    @property
    def y_tick_x(self) -> int:
        return self.left - 8

    @property
    def x_tick_end(self) -> int:
        return self.bottom + 5

    @property
    def x_tick_label_y(self) -> int:
        return self.bottom + 20

    @property
    def x_label_y(self) -> int:
        return self.bottom + 40

    @property
    def legend_text_x(self) -> int:
        return self.left + 22


def _value_range(points: list[Point]) -> tuple[float, float]:
    values = [p.value for p in points]
    values += [p.value + p.stderr for p in points if p.stderr] + [p.value - p.stderr for p in points if p.stderr]
    low, high = min(values), max(values)
    if 0 <= low and high <= 1:
        return 0.0, 1.0  # proportions (accuracy and the like) on their natural scale
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    magnitude = 10 ** math.floor(math.log10(step)) if step > 0 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _format_value(value: float) -> str:
    return f"{value:.3g}"


def _time_range(points: list[Point]) -> tuple[datetime, datetime]:
    first, last = min(p.at for p in points), max(p.at for p in points)
    if first == last:
        return first - timedelta(hours=12), last + timedelta(hours=12)
    pad = (last - first) * 0.05
    return first - pad, last + pad


def _time_label(at: datetime, span: timedelta) -> str:
    if span < timedelta(minutes=10):
        return at.strftime("%H:%M:%S")
    return at.strftime("%d %b %H:%M" if span < timedelta(days=3) else "%d %b %Y")


def build_chart(points: list[Point], *, title: str, metric: str) -> Chart:
    """Lay out `points` (one per run); models keep their order of first appearance by name."""
    models = sorted({p.model for p in points})
    colours = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(models)}
    legend_height = LEGEND_ROW * len(models) + 8
    height = HEIGHT + legend_height
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    lines = [Line(model=model, colour=colours[model]) for model in models]
    description = f"{metric} of {len(points)} runs of {title} across {len(models)} models, plotted against run time."
    if not points:
        return Chart(title, description, WIDTH, height, left, right, top, bottom, lines, [], [], metric)

    low, high = _value_range(points)
    start, end = _time_range(points)
    span = end - start

    def x_of(at: datetime) -> float:
        return left + (right - left) * ((at - start) / span)

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / (high - low)

    by_model = {line.model: line for line in lines}
    for point in sorted(points, key=lambda p: (p.at, p.value)):
        value_text = _format_value(point.value)
        if point.stderr:
            value_text += f" ± {_format_value(point.stderr)}"
        title_text = f"{point.model}, {point.at:%d %b %Y %H:%M} UTC: {metric} {value_text}"
        if point.label:
            title_text += f" ({point.label})"
        by_model[point.model].dots.append(
            Dot(
                x=_c(x_of(point.at)),
                y=_c(y_of(point.value)),
                title=title_text,
                low=_c(y_of(point.value - point.stderr)) if point.stderr else None,
                high=_c(y_of(point.value + point.stderr)) if point.stderr else None,
            )
        )
    y_ticks = [Tick(_c(y_of(v)), _format_value(v)) for v in _nice_ticks(low, high) if low <= v <= high]
    x_ticks = [Tick(_c(x_of(start + span * f)), _time_label(start + span * f, span)) for f in (0.05, 0.5, 0.95)]
    return Chart(title, description, WIDTH, height, left, right, top, bottom, lines, x_ticks, y_ticks, metric)
