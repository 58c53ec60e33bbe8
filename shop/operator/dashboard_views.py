"""The console's dashboard (/ops): GMV and orders by day, by province, star level
and product group, top producers, waiting sub-orders and the background processes.
"""

import time
from dataclasses import dataclass
from datetime import date

from flask import render_template, request
from flask_babel import gettext as _

from shop.formatting import vn_date, vnd
from shop.health.heartbeats import read_heartbeats
from shop.operator import bp, queries
from shop.operator.view_helpers import _locale
from shop.queue import QUEUES, queue_depths


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
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


def day_chart(days: list[queries.DayFigure], today: date, locale: str) -> DayChart:
    """GMV bars over order-count bars, one column per day: the best day is full
    height in each band."""
    width, gmv_h, orders_h = 600, 100, 100
    step = width / max(len(days), 1)
    pad = step * 0.15
    peak = max((d.gmv for d in days), default=0) or 1
    peak_orders = max((d.orders for d in days), default=0) or 1
    every = 1 if len(days) <= 7 else 7 if len(days) <= 31 else 14
    gmv_bars, order_bars, ticks = [], [], []
    for i, d in enumerate(days):
        label = _(
            "%(day)s: %(amount)s · %(count)s đơn",
            day=d.day.strftime("%d/%m"),
            amount=vnd(d.gmv, locale),
            count=d.orders,
        )
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


def bars(slices: list[queries.Slice]) -> list[tuple[queries.Slice, float]]:
    """Each slice with its bar's width in percent of the largest."""
    peak = max((s.amount for s in slices), default=0) or 1
    return [(s, round(100 * s.amount / peak, 1)) for s in slices]


@bp.get("/")
def dashboard():
    days = queries.period_days(request.args.get("days"))
    data = queries.dashboard(days, waiting_limit=8)
    return render_template(
        "operator/dashboard.html",
        data=data,
        periods=queries.PERIODS,
        chart=day_chart(data.by_day, data.last, _locale()),
        bars=bars,
        hours=queries.WAITING_HOURS,
        processes=background_processes(),
    )


def background_processes() -> dict:
    """Workers and beat as their heartbeats tell (shop.health.heartbeats), with the
    queues nobody serves and how many tasks wait in each."""
    beats = read_heartbeats()
    now = time.time()
    for beat in beats:
        beat["age"] = max(0, int(now - beat.get("at", now)))
    served = {q for b in beats if b.get("kind") == "worker" for q in b.get("queues", [])}
    return {
        "beats": beats,
        "has_beat": any(b.get("kind") == "beat" for b in beats),
        "unserved": [q for q in QUEUES if q not in served],
        "depths": queue_depths(),
    }
