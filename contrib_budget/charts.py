"""Charts drawn on the server as SVG: no script and no library, so they work offline and under the CSP.

The functions here are pure: from amounts (Decimal) they place the shapes and write the labels (money in the
active language and the collective's currency); templates/charts/ draws them. Horizontal positions are
percentages of the chart's width and vertical ones pixels, so a chart fills any width, a 375 px phone or a wide
screen, without stretching its text or its hatching.

Three kinds cover the pages: horizontal stacked bars (a budget's gauge, a wallet), a bar against goals (a
bucket's minimum and maximum) and columns over time (periods, months), grouped or stacked. Each comes with its
text alternative: a sentence for screen readers and the figures for a table. Colours reach AA contrast on white
and never carry meaning alone: the legend names every series with its amount, and some series are hatched.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from babel.numbers import format_compact_currency
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from .money import CENT, ZERO, format_money

# Each at least 4.5:1 against white (tests/test_charts.py checks it), so a bar reads against the page and a
# series colour may also colour text.
GREEN = "#1f6f5c"
BLUE = "#2f5ea8"
ORANGE = "#a14a00"
PURPLE = "#6b3fa0"
TEAL = "#0f6b8a"
SLATE = "#4d5666"
OCHRE = "#7a5500"
RED = "#b3261e"
PALETTE = (GREEN, BLUE, ORANGE, PURPLE, TEAL, SLATE, OCHRE, RED)

# Columns: room above the plot for the top tick's label, below it for the category labels.
PLOT_TOP = 18
LABELS_HEIGHT = 24
MAX_AXIS_LABELS = 6


@dataclass(frozen=True)
class Series:
    """What a colour stands for. `key` names its hatching pattern: letters, digits and dashes."""

    key: str
    label: str
    colour: str
    hatched: bool = False


def series_cycle(labels: Sequence[str], *, prefix: str = "s") -> list[Series]:
    """One series per label, in the palette's order; past its end the same colours come back hatched."""
    return [Series(f"{prefix}{index}", label, PALETTE[index % len(PALETTE)], hatched=index >= len(PALETTE))
            for index, label in enumerate(labels)]


def fill_of(series: Series, uid: str) -> str:
    """The fill of a shape of `series` in the chart `uid`: its colour, or its hatching pattern."""
    return f"url(#{uid}-{series.key})" if series.hatched else series.colour


def percent(part: Decimal, whole: Decimal) -> int:
    """`part` as a whole percentage of `whole` (rounded down); 0 when the whole is nothing."""
    return int(part * 100 / whole) if whole > 0 else 0


def _position(amount: Decimal, scale: Decimal) -> float:
    """Where `amount` falls on a scale of 0…`scale`, in percent (negative amounts sit at 0)."""
    if scale <= 0 or amount <= 0:
        return 0.0
    return round(float(min(amount, scale) * 100 / scale), 3)


def compact_money(amount: Decimal, currency: str) -> str:
    """A short amount for an axis: "12,5 k€" in French, "€12.5k" in English."""
    return format_compact_currency(amount, currency, locale=to_locale(get_language() or "fr"), fraction_digits=1)


# ---------------------------------------------------------------------------------------------------------------
# Horizontal bars: stacked segments, goals as markers

@dataclass(frozen=True)
class Segment:
    series: Series
    amount: Decimal
    text: str
    x: float
    width: float
    fill: str


@dataclass(frozen=True)
class Marker:
    """A goal drawn as a vertical line across the bar: the first one dashed, the next ones solid."""

    label: str
    amount: Decimal
    text: str
    x: float
    dashed: bool


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    markers: tuple[Marker, ...]
    description: str


@dataclass(frozen=True)
class LegendItem:
    series: Series
    amount: Decimal
    text: str
    fill: str


@dataclass(frozen=True)
class BarChart:
    uid: str
    bars: tuple[Bar, ...]
    legend: tuple[LegendItem, ...]
    series: tuple[Series, ...]
    description: str

    @property
    def hatched(self) -> tuple[Series, ...]:
        """The series that need a hatching pattern in the chart's <defs>."""
        return tuple(series for series in self.series if series.hatched)


Parts = Sequence[tuple[Series, Decimal]]


def _bar(parts: Parts, *, uid: str, currency: str, scale: Decimal, goals: Sequence[tuple[str, Decimal]] = (),
         label: str = "") -> Bar:
    segments, start = [], ZERO
    for series, amount in parts:
        shown = max(amount, ZERO)
        x = _position(start, scale)
        segments.append(Segment(series, amount, format_money(amount, currency), x,
                                round(_position(start + shown, scale) - x, 3), fill_of(series, uid)))
        start += shown
    markers = tuple(Marker(goal_label, goal, format_money(goal, currency), _position(goal, scale), dashed=index == 0)
                    for index, (goal_label, goal) in enumerate(goals))
    figures = ", ".join(f"{segment.series.label} {segment.text}" for segment in segments)
    figures += "".join(
        "; " + _("%(goal)s %(amount)s (%(percent)s%%)") % {
            "goal": marker.label, "amount": marker.text, "percent": percent(start, marker.amount)}
        for marker in markers if marker.amount > 0)
    description = f"{label}: {figures}" if label else figures
    return Bar(label, tuple(s for s in segments if s.width > 0), markers, description)


def _legend(rows: Sequence[Parts], *, uid: str, currency: str) -> tuple[LegendItem, ...]:
    totals: dict[Series, Decimal] = {}
    for parts in rows:
        for series, amount in parts:
            totals[series] = totals.get(series, ZERO) + amount
    return tuple(LegendItem(series, amount, format_money(amount, currency), fill_of(series, uid))
                 for series, amount in totals.items())


def gauge(rows: Sequence[tuple[str, Parts]], *, uid: str, currency: str) -> BarChart:
    """Rows of stacked segments on one scale, e.g. money in (received, promised) above money out (granted,
    left): the longest row fills the width. The legend sums each series over the rows."""
    scale = max((sum((max(a, ZERO) for _s, a in parts), ZERO) for _label, parts in rows), default=ZERO)
    bars = tuple(_bar(parts, uid=uid, currency=currency, scale=scale, label=label) for label, parts in rows)
    legend = _legend([parts for _label, parts in rows], uid=uid, currency=currency)
    return BarChart(uid, bars, legend, tuple(item.series for item in legend),
                    ". ".join(bar.description for bar in bars) + ("." if bars else ""))


def progress(parts: Parts, *, goals: Sequence[tuple[str, Decimal]], uid: str, currency: str,
             label: str = "") -> BarChart:
    """One bar against one or two goals (a bucket's minimum and maximum, a period's money): the scale reaches
    the larger of the goals and the bar, so going past a goal shows. The description gives how far each goal
    is reached: "raised 80,00 €; minimum 100,00 € (80 %); maximum 150,00 € (53 %)"."""
    total = sum((max(a, ZERO) for _s, a in parts), ZERO)
    scale = max([total, *(goal for _label, goal in goals)])
    bar = _bar(parts, uid=uid, currency=currency, scale=scale, goals=goals, label=label)
    legend = _legend([parts], uid=uid, currency=currency)
    return BarChart(uid, (bar,), legend, tuple(item.series for item in legend), f"{bar.description}.")


# ---------------------------------------------------------------------------------------------------------------
# Columns over time: grouped (one column per series) or stacked

@dataclass(frozen=True)
class Column:
    series: Series
    amount: Decimal
    text: str
    x: float
    width: float
    y: float
    height: float
    fill: str


@dataclass(frozen=True)
class Category:
    label: str
    short: str
    centre: float
    show_label: bool
    columns: tuple[Column, ...]
    # The figures of the text alternative, one per series (and the total when stacked).
    values: tuple[str, ...]


@dataclass(frozen=True)
class Tick:
    amount: Decimal
    text: str
    y: float

    @property
    def label_y(self) -> float:
        """A tick's label sits just above its line, at the left (no margin to reserve for an axis)."""
        return round(self.y - 4, 2)


@dataclass(frozen=True)
class ColumnChart:
    uid: str
    series: tuple[Series, ...]
    legend: tuple[LegendItem, ...]
    categories: tuple[Category, ...]
    ticks: tuple[Tick, ...]
    stacked: bool
    height: int
    label_y: int
    description: str

    @property
    def hatched(self) -> tuple[Series, ...]:
        return tuple(series for series in self.series if series.hatched)

    @property
    def empty(self) -> bool:
        return not self.categories or all(not category.columns for category in self.categories)


def nice_ticks(maximum: Decimal, count: int = 4) -> list[Decimal]:
    """Round tick values from 0 to at least `maximum`, in steps of 1, 2, 2.5 or 5 times a power of ten (never
    below a cent): 0, 250, 500, 750, 1 000 for 930."""
    if maximum <= 0:
        return [ZERO]
    raw = Decimal(maximum) / count
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(magnitude * m for m in (1, 2, Decimal("2.5"), 5, 10) if magnitude * m >= raw)
    step = max(step, CENT)
    steps = int((Decimal(maximum) / step).to_integral_value(rounding=ROUND_CEILING))
    return [step * index for index in range(steps + 1)]


def column_chart(categories: Sequence[tuple[str, str, Sequence[Decimal]]], *, series: Sequence[Series], uid: str,
                 currency: str, stacked: bool = False, height: int = 200, description: str = "") -> ColumnChart:
    """Columns for each category (label for the table, short label for the axis, one amount per series):
    side by side, or stacked with a total. The scale is rounded up to a round tick; at most six axis labels
    show, so they stay apart on a phone."""
    series = tuple(series)
    bottom = height - LABELS_HEIGHT
    plot = bottom - PLOT_TOP
    peaks = [sum((max(a, ZERO) for a in amounts), ZERO) if stacked else max((max(a, ZERO) for a in amounts),
                                                                          default=ZERO)
             for _label, _short, amounts in categories]
    ticks = nice_ticks(max(peaks, default=ZERO))
    top = ticks[-1]

    def y_of(amount: Decimal) -> float:
        return round(bottom - (float(amount / top) * plot if top > 0 else 0.0), 2)

    band = 100 / len(categories) if categories else 100.0
    every = -(-len(categories) // MAX_AXIS_LABELS) if categories else 1
    placed = []
    for index, (label, short, amounts) in enumerate(categories):
        left = index * band
        columns = []
        if stacked:
            width, base = band * 0.6, ZERO
            for s, amount in zip(series, amounts, strict=True):
                shown = max(amount, ZERO)
                if shown > 0:
                    columns.append(_column(s, amount, currency, uid, left + band * 0.2, width,
                                           y_of(base + shown), y_of(base)))
                base += shown
        else:
            width = band * 0.8 / max(len(series), 1)
            for position, (s, amount) in enumerate(zip(series, amounts, strict=True)):
                if amount > 0:
                    columns.append(_column(s, amount, currency, uid, left + band * 0.1 + position * width,
                                           width * 0.9, y_of(amount), bottom))
        values = [format_money(amount, currency) for amount in amounts]
        if stacked:
            values.append(format_money(sum(amounts, ZERO), currency))
        placed.append(Category(label, short, round(left + band / 2, 3), index % every == 0, tuple(columns),
                               tuple(values)))
    legend = _legend([list(zip(series, amounts, strict=True)) for _l, _s, amounts in categories],
                     uid=uid, currency=currency)
    return ColumnChart(uid, series, legend, tuple(placed),
                       tuple(Tick(tick, compact_money(tick, currency), y_of(tick)) for tick in ticks),
                       stacked, height, height - 6, description)


def _column(series: Series, amount: Decimal, currency: str, uid: str, x: float, width: float, y: float,
            bottom: float) -> Column:
    return Column(series, amount, format_money(amount, currency), round(x, 3), round(width, 3), y,
                  round(bottom - y, 2), fill_of(series, uid))
