"""The console's dashboard (/ops): GMV and orders by day, by province, star level
and product group, top producers, waiting sub-orders and the background processes.
"""

import time

from flask import render_template, request

from shop.charts import day_chart
from shop.health.heartbeats import read_heartbeats
from shop.operator import bp, queries
from shop.operator.view_helpers import _locale
from shop.queue import QUEUES, queue_depths


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
