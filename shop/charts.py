"""Bar charts of sales by day, drawn as SVG by the templates: the console's
dashboard (`day_chart`: GMV over orders) and the producer portal's (`sales_chart`).
Both take plain figures (any objects with these attributes) and lay out bars whose
label says the day, the amount and the orders, for tooltips and screen readers."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from flask_babel import gettext as _

from shop.formatting import vn_date, vnd


# Read-only members, so frozen dataclasses and properties match.
class DayGMV(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def gmv(self) -> int: ...
    @property
    def orders(self) -> int: ...


class DayAmount(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def amount(self) -> int: ...
    @property
    def orders(self) -> int: ...


class DaySeries(Protocol):
    @property
    def days(self) -> Sequence[DayAmount]: ...
    @property
    def total(self) -> int: ...
    @property
    def orders(self) -> int: ...
    @property
    def best(self) -> DayAmount | None: ...  # None when no day sold anything


def day_label(day: date, amount: int, orders: int, locale: str) -> str:
    return _("%(day)s: %(amount)s · %(count)s đơn", day=day.strftime("%d/%m"), amount=vnd(amount, locale), count=orders)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "dd/mm: 120.000 ₫ · 2 đơn", for the tooltip and screen readers
    is_today: bool


@dataclass(frozen=True)
class DayChart:
    """Two bands of bars on one day axis. The SVGs stretch to the panel's width
    (preserveAspectRatio="none") at a fixed CSS height, so the day labels are HTML
    placed at `ticks` (percent of the width) and stay readable on a phone."""

    width: int
    gmv_height: int
    orders_height: int
    gmv_bars: list[Bar]
    order_bars: list[Bar]
    ticks: list[tuple[float, str, str]]  # (left %, "start" | "middle" | "end", "dd/mm")
    gmv_peak: str
    orders_peak: int
    summary: str


def day_chart(days: Sequence[DayGMV], today: date, locale: str) -> DayChart:
    """The console's dashboard: GMV bars over order-count bars, one column per day;
    the best day is full height in each band."""
    width, gmv_h, orders_h = 600, 100, 100
    step = width / max(len(days), 1)
    pad = step * 0.15
    peak = max((d.gmv for d in days), default=0) or 1
    peak_orders = max((d.orders for d in days), default=0) or 1
    every = 1 if len(days) <= 7 else 7 if len(days) <= 31 else 14
    gmv_bars: list[Bar] = []
    order_bars: list[Bar] = []
    ticks: list[tuple[float, str, str]] = []
    for i, d in enumerate(days):
        label = day_label(d.day, d.gmv, d.orders, locale)
        x, w = round(i * step + pad, 2), round(step - 2 * pad, 2)
        h = round(gmv_h * d.gmv / peak, 2) if d.gmv else 0
        gmv_bars.append(Bar(x, gmv_h - h, w, h, label, d.day == today))
        h = round(orders_h * d.orders / peak_orders, 2) if d.orders else 0
        order_bars.append(Bar(x, orders_h - h, w, h, label, d.day == today))
        back = len(days) - 1 - i  # days before today
        centre = round(100 * (i + 0.5) / len(days), 2)
        if back == 0:
            ticks.append((100, "end", d.day.strftime("%d/%m")))
        elif back % every == 0 and (len(days) <= 7 or 8 <= centre <= 88):
            ticks.append((centre, "middle", d.day.strftime("%d/%m")))
    total, count = sum(d.gmv for d in days), sum(d.orders for d in days)
    if total:
        best = max(days, key=lambda d: (d.gmv, d.day))
        summary = _(
            "%(days)s ngày: %(total)s từ %(count)s đơn. Ngày cao nhất: %(day)s (%(best)s).",
            days=len(days),
            total=vnd(total, locale),
            count=count,
            day=vn_date(best.day, locale),
            best=vnd(best.gmv, locale),
        )
    else:
        summary = _("Chưa có đơn hàng nào trong %(days)s ngày này.", days=len(days))
    return DayChart(
        width,
        gmv_h,
        orders_h,
        gmv_bars,
        order_bars,
        ticks,
        vnd(peak if total else 0, locale),
        peak_orders if count else 0,
        summary,
    )


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    ticks: list[tuple[float, str, str]]  # (x, text-anchor, "dd/mm") under a bar a week
    summary: str


def sales_chart(series: DaySeries, today: date, locale: str = "vi") -> Chart:
    """The portal's dashboard: one bar per day, 10 units apart; the tallest bar is
    100 units high."""
    step, plot_top, plot_height = 10, 6, 100
    baseline = plot_top + plot_height
    peak = max((d.amount for d in series.days), default=0) or 1
    bars: list[Bar] = []
    ticks: list[tuple[float, str, str]] = []
    for i, day in enumerate(series.days):
        height = round(plot_height * day.amount / peak, 2) if day.amount else 0
        label = day_label(day.day, day.amount, day.orders, locale)
        bars.append(Bar(i * step + 1, baseline - height, step - 2, height, label, day.day == today))
        if i == len(series.days) - 1:  # today, flush with the right edge
            ticks.append((len(series.days) * step, "end", day.day.strftime("%d/%m")))
        elif (len(series.days) - 1 - i) % 7 == 0:
            ticks.append((i * step + step / 2, "middle", day.day.strftime("%d/%m")))
    best = series.best
    if series.total and best is not None:
        summary = _(
            "%(days)s ngày qua: %(total)s từ %(count)s đơn. Ngày bán nhiều nhất: %(day)s (%(best)s).",
            days=len(series.days),
            total=vnd(series.total, locale),
            count=series.orders,
            day=vn_date(best.day, locale),
            best=vnd(best.amount, locale),
        )
    else:
        summary = _("Chưa có doanh số trong %(days)s ngày qua.", days=len(series.days))
    return Chart(len(series.days) * step, baseline + 18, baseline, bars, ticks, summary)
