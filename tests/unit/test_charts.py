"""The dashboards' bar charts (shop.charts): the best day is full height, every bar
says its day, amount and orders, and the summary adds the days up."""

from dataclasses import dataclass
from datetime import date, timedelta

from shop.charts import day_chart, sales_chart

TODAY = date(2026, 12, 7)


@dataclass
class Day:
    day: date
    gmv: int = 0
    amount: int = 0
    orders: int = 0


@dataclass
class Series:
    days: list
    total: int
    orders: int
    best: Day


def week(*amounts: int) -> list[Day]:
    start = TODAY - timedelta(days=len(amounts) - 1)
    return [Day(start + timedelta(days=i), gmv=a, amount=a, orders=1 if a else 0) for i, a in enumerate(amounts)]


def test_the_consoles_chart_puts_the_best_day_at_full_height_in_both_bands():
    chart = day_chart(week(0, 100_000, 50_000), TODAY, "vi")

    assert [b.height for b in chart.gmv_bars] == [0, 100, 50]
    assert [b.height for b in chart.order_bars] == [0, 100, 100]
    assert chart.gmv_bars[-1].is_today and not chart.gmv_bars[0].is_today
    assert chart.gmv_bars[1].label == "06/12: 100.000\xa0₫ · 1 đơn"
    assert chart.ticks[-1] == (100, "end", "07/12")
    assert chart.summary.startswith("3 ngày: 150.000\xa0₫ từ 2 đơn.")


def test_the_portals_chart_lays_bars_ten_units_apart_and_says_when_nothing_sold():
    days = week(20_000, 0, 40_000)
    chart = sales_chart(Series(days, 60_000, 2, days[2]), TODAY, "vi")

    assert [(b.x, b.height) for b in chart.bars] == [(1, 50), (11, 0), (21, 100)]
    assert chart.bars[0].label == "05/12: 20.000\xa0₫ · 1 đơn"
    assert chart.width == 30 and chart.ticks[-1] == (30, "end", "07/12")
    empty = week(0, 0)
    assert sales_chart(Series(empty, 0, 0, empty[0]), TODAY).summary == "Chưa có doanh số trong 2 ngày qua."
