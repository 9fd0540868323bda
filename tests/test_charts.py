"""The server-drawn charts (contrib_budget/charts.py): geometry, labels, empty data, zero totals, huge numbers,
colours, and the SVG the templates draw from them."""

import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from contrib_budget import charts
from contrib_budget.charts import PALETTE, Series

D = Decimal
A = Series("a", "Received", charts.GREEN)
B = Series("b", "Promised", charts.GREEN, hatched=True)
C = Series("c", "Granted", charts.BLUE)


pytestmark = pytest.mark.usefixtures("english")


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize("colour", PALETTE)
def test_every_colour_of_the_palette_reaches_aa_contrast_on_white(colour):
    assert (1.05) / (_luminance(colour) + 0.05) >= 4.5


def test_past_the_palette_series_come_back_hatched_so_no_two_look_alike():
    series = charts.series_cycle([f"Collective {n}" for n in range(len(PALETTE) + 2)], prefix="c")
    looks = {(s.colour, s.hatched) for s in series}
    assert len(looks) == len(series)
    assert charts.fill_of(series[0], "chart") == PALETTE[0]
    assert charts.fill_of(series[len(PALETTE)], "chart") == f"url(#chart-c{len(PALETTE)})"


def test_a_gauge_puts_its_rows_on_one_scale_the_longest_filling_the_width():
    chart = charts.gauge([("Money in", [(A, D("750.00")), (B, D("250.00"))]),
                          ("Money out", [(C, D("500.00"))])], uid="g", currency="EUR")
    money_in, money_out = chart.bars
    assert [(s.x, s.width) for s in money_in.segments] == [(0.0, 75.0), (75.0, 25.0)]
    assert [(s.x, s.width) for s in money_out.segments] == [(0.0, 50.0)]
    assert [(item.series.label, item.text) for item in chart.legend] == [
        ("Received", "€750.00"), ("Promised", "€250.00"), ("Granted", "€500.00")]
    assert chart.description == "Money in: Received €750.00, Promised €250.00. Money out: Granted €500.00."
    assert chart.hatched == (B,)
    assert money_in.segments[1].fill == "url(#g-b)"


def test_the_legend_sums_a_series_over_the_rows_and_reads_in_the_reader_language():
    rows = [("One", [(A, D("1234.50"))]), ("Two", [(A, D("1000.00"))])]
    with translation.override("fr"):
        chart = charts.gauge(rows, uid="g", currency="EUR")
    assert chart.legend[0].amount == D("2234.50")
    assert chart.legend[0].text.replace("\u202f", " ").replace("\xa0", " ") == "2 234,50 €"


def test_zero_totals_draw_nothing_and_divide_by_nothing():
    chart = charts.gauge([("Money in", [(A, D("0.00")), (B, D("0.00"))])], uid="g", currency="EUR")
    assert chart.bars[0].segments == ()
    assert [item.text for item in chart.legend] == ["€0.00", "€0.00"]
    bar = charts.progress([(A, D("0.00"))], goals=[("minimum", D("0.00"))], uid="p", currency="EUR")
    assert bar.bars[0].segments == () and bar.bars[0].markers[0].x == 0.0
    assert charts.percent(D("5"), D("0")) == 0


def test_a_negative_amount_draws_nothing_but_keeps_its_figure():
    chart = charts.gauge([("Left", [(A, D("100.00")), (B, D("-20.00"))])], uid="g", currency="EUR")
    assert [s.series for s in chart.bars[0].segments] == [A]
    assert chart.bars[0].segments[0].width == 100.0
    assert "Promised -€20.00" in chart.description


def test_a_progress_bar_scales_to_its_largest_goal_and_says_how_far_each_is_reached():
    chart = charts.progress([(A, D("80.00"))], goals=[("minimum", D("100.00")), ("maximum", D("160.00"))],
                            uid="p", currency="EUR")
    bar = chart.bars[0]
    assert bar.segments[0].width == 50.0
    assert [(m.x, m.dashed) for m in bar.markers] == [(62.5, True), (100.0, False)]
    assert chart.description == "Received €80.00; minimum €100.00 (80%); maximum €160.00 (50%)."


def test_a_bar_past_its_goals_fills_the_width_and_the_goals_stay_inside():
    chart = charts.progress([(A, D("300.00"))], goals=[("goal", D("200.00"))], uid="p", currency="EUR")
    assert chart.bars[0].segments[0].width == 100.0
    assert chart.bars[0].markers[0].x == pytest.approx(66.667)
    assert "(150%)" in chart.description


@pytest.mark.parametrize(("maximum", "ticks"), [
    (D("930"), ["0", "250", "500", "750", "1000"]),
    (D("1000"), ["0", "250", "500", "750", "1000"]),
    (D("7"), ["0", "2", "4", "6", "8"]),
    (D("0.03"), ["0", "0.01", "0.02", "0.03"]),
    (D("0"), ["0"]),
])
def test_ticks_are_round_and_reach_the_maximum(maximum, ticks):
    assert [format(t.normalize(), "f") for t in charts.nice_ticks(maximum)] == ticks


def test_huge_amounts_keep_exact_ticks_and_finite_geometry():
    huge = D("999999999999.99")
    ticks = charts.nice_ticks(huge)
    assert ticks[-1] >= huge and len(ticks) <= 6
    chart = charts.column_chart([("All", "All", [huge, D("0.01")])], series=[A, C], uid="h", currency="EUR")
    [tall] = chart.categories[0].columns[:1]
    assert 0 < tall.height <= 200 and tall.y >= charts.PLOT_TOP
    assert chart.categories[0].values[0] == "€999,999,999,999.99"
    assert chart.ticks[-1].text == "€1T"
    gauge = charts.gauge([("In", [(A, huge), (B, D("0.01"))])], uid="g", currency="EUR")
    assert gauge.bars[0].segments[0].width == 100.0


def test_grouped_columns_stand_side_by_side_in_their_band_with_heights_in_proportion():
    chart = charts.column_chart([("Week 1", "W1", [D("1000"), D("500")]), ("Week 2", "W2", [D("0"), D("250")])],
                                series=[A, C], uid="cols", currency="EUR", height=200)
    bottom = 200 - charts.LABELS_HEIGHT
    first, second = chart.categories
    assert [c.series for c in first.columns] == [A, C]
    assert all(0 <= c.x and c.x + c.width <= 50 for c in first.columns)
    assert all(50 <= c.x and c.x + c.width <= 100 for c in second.columns)
    assert first.columns[0].y == charts.PLOT_TOP and first.columns[0].y + first.columns[0].height == bottom
    assert first.columns[1].height == pytest.approx(first.columns[0].height / 2)
    assert [c.series for c in second.columns] == [C]  # nothing drawn for zero
    assert first.values == ("€1,000.00", "€500.00") and (first.centre, second.centre) == (25.0, 75.0)
    assert [t.text for t in chart.ticks] == ["€0", "€250", "€500", "€750", "€1K"]
    assert chart.ticks[0].y == bottom and chart.ticks[-1].label_y == charts.PLOT_TOP - 4


def test_stacked_columns_pile_up_in_series_order_and_the_table_gets_a_total():
    chart = charts.column_chart([("January 2025", "Jan", [D("300"), D("100")])], series=[A, C], uid="s",
                                currency="EUR", stacked=True)
    lower, upper = chart.categories[0].columns
    assert lower.y == pytest.approx(upper.y + upper.height)
    assert chart.categories[0].values == ("€300.00", "€100.00", "€400.00")
    assert chart.ticks[-1].amount >= D("400")


def test_at_most_six_axis_labels_show_so_they_stay_apart_on_a_phone():
    categories = [(f"Week {n}", f"W{n}", [D("10")]) for n in range(12)]
    chart = charts.column_chart(categories, series=[A], uid="w", currency="EUR")
    assert [c.short for c in chart.categories if c.show_label] == ["W0", "W2", "W4", "W6", "W8", "W10"]


@pytest.mark.parametrize("categories", [[], [("Week 1", "W1", [D("0"), D("0")])]])
def test_no_data_or_only_zeros_make_an_empty_chart(categories):
    chart = charts.column_chart(categories, series=[A, C], uid="e", currency="EUR")
    assert chart.empty and chart.ticks[0].amount == 0
    html = render_to_string("charts/columns.html", {"chart": chart, "title": "Nothing", "empty": "Nothing yet."})
    assert "Nothing yet." in html and "<svg" not in html


def test_the_templates_draw_scalable_svg_with_a_text_alternative_whatever_the_language():
    with translation.override("fr"):
        columns = charts.column_chart([("Semaine 1", "S1", [D("1234.56"), D("10.50")])], series=[A, B], uid="cols",
                                      currency="EUR", description="Deux séries.")
        gauge = charts.progress([(A, D("12.5"))], goals=[("minimum", D("25"))], uid="bar", currency="EUR")
        html = render_to_string("charts/columns.html", {"chart": columns, "title": "Périodes", "heading": "Période"})
        bars = render_to_string("charts/bars.html", {"chart": gauge, "title": "Seau"})
    for drawing in (html, bars):
        assert 'width="100%"' in drawing and 'role="img"' in drawing
        # Geometry is written with dots, never in the reader's decimal comma.
        for value in re.findall(r'(?:x|y|width|height|x1|x2)="([^"%]*)%?"', drawing):
            assert "," not in value, value
    assert 'aria-label="Deux séries."' in html and "<figcaption" in html and "<table>" in html
    assert "<th scope=\"row\">Semaine 1</th>" in html and "1\u202f234,56\xa0€" in html
    assert 'id="cols-b"' in html and 'fill="url(#cols-b)"' in html  # the hatched series has its pattern
    assert 'aria-label="Received 12,50\xa0€; minimum 25,00\xa0€ (50' in bars
    assert 'width="50.0%"' in bars and 'x1="100.0%"' in bars and "chart-marker-dashed" in bars
