"""The sync log and the report of one stock import, as the portal shows them."""

import csv
import io
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from shop.errors import NotFound
from shop.extensions import db
from shop.inventory import stock
from shop.inventory.models import StockImport


def import_of(producer_id: int, import_id: int) -> StockImport:
    imp = db.session.scalars(
        select(StockImport).where(StockImport.id == import_id, StockImport.producer_id == producer_id)
    ).first()
    if imp is None:
        raise NotFound(_l("Không tìm thấy lần nhập kho này."))
    return imp


@dataclass(frozen=True)
class ReportRow:
    row: int
    sku: str
    status: str
    code: str | None
    n: int | None
    available: int | None

    @property
    def reason(self) -> str | None:
        return stock.reason_text(self.code, self.n)


def report_rows(imp: StockImport, status: str | None = None) -> list[ReportRow]:
    rows = [ReportRow(*entry) for entry in json.loads(imp.report or "[]")]
    return [r for r in rows if status is None or r.status == status]


def report_csv(imp: StockImport) -> str:
    """The report as CSV for a spreadsheet; cells that would run as formulas get a leading '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "sku", "status", "reason", "available"])
    for r in report_rows(imp):
        writer.writerow(
            [r.row, stock.safe_echo(r.sku), r.status, r.reason or "", "" if r.available is None else r.available]
        )
    return "\ufeff" + out.getvalue()


def sync_log(producer_id: int, page: int = 1, per_page: int = 20) -> tuple[list[StockImport], int]:
    total = db.session.scalar(select(func.count(StockImport.id)).where(StockImport.producer_id == producer_id)) or 0
    rows = db.session.scalars(
        select(StockImport)
        .where(StockImport.producer_id == producer_id)
        .order_by(StockImport.created_at.desc(), StockImport.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total
