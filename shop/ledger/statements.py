"""A payout statement: the entries it settles laid out for people (HTML) and
spreadsheets (CSV), with the totals that explain its amount.

Per delivered line: order number, date, product, units, the original price of
those units (gross), the discount the producer funded, the discount the
marketplace funded, the commission and the net. Then the shipping fees, the
refund reversals and the operators' adjustments. The total is the sum of the
entries, which is the payout's amount."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shop.csvexport import csv_text
from shop.formatting import vn_date, vn_datetime
from shop.ledger import queries
from shop.ledger.models import LedgerEntry, Payout
from shop.producers.models import Producer

KIND_LABELS = {
    "earning": _l("Doanh thu"),
    "shipping": _l("Phí vận chuyển"),
    "reversal": _l("Hoàn tiền"),
    "adjustment": _l("Điều chỉnh"),
    "payout": _l("Đã chuyển tiền"),
}

CSV_COLUMNS = (
    _l("Loại"),
    _l("Mã đơn"),
    _l("Ngày"),
    _l("Sản phẩm"),
    _l("Số lượng"),
    _l("Giá gốc"),
    _l("Giảm giá NSX chịu"),
    _l("Giảm giá sàn chịu"),
    _l("Hoa hồng"),
    _l("Thực nhận"),
    _l("Ghi chú"),
)


@dataclass(frozen=True)
class Row:
    kind: str
    order_number: str
    at: datetime
    product: str
    units: int | None
    gross: int
    producer_funded: int
    operator_funded: int
    commission: int
    net: int
    note: str


@dataclass
class Statement:
    producer: Producer
    payout: Payout | None
    earnings: list[Row] = field(default_factory=list)
    shipping: list[Row] = field(default_factory=list)
    reversals: list[Row] = field(default_factory=list)
    adjustments: list[Row] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return self.earnings + self.shipping + self.reversals + self.adjustments

    def total_of(self, name: str, rows: list[Row] | None = None) -> int:
        return sum(getattr(r, name) for r in (self.rows if rows is None else rows))

    @property
    def gross(self) -> int:
        return self.total_of("gross", self.earnings)

    @property
    def producer_funded(self) -> int:
        return self.total_of("producer_funded", self.earnings)

    @property
    def operator_funded(self) -> int:
        return self.total_of("operator_funded", self.earnings)

    @property
    def commission(self) -> int:
        return self.total_of("commission", self.earnings)

    @property
    def earned(self) -> int:
        return self.total_of("net", self.earnings)

    @property
    def shipping_total(self) -> int:
        return self.total_of("net", self.shipping)

    @property
    def reversal_total(self) -> int:
        return self.total_of("net", self.reversals)

    @property
    def adjustment_total(self) -> int:
        return self.total_of("net", self.adjustments)

    @property
    def total(self) -> int:
        return self.total_of("net")


def build(producer: Producer, entries: list[LedgerEntry], payout: Payout | None = None) -> Statement:
    """Lay out `entries` (of one producer) as a statement."""
    lines = queries.lines_of(entries)
    statement = Statement(producer, payout)
    groups = {
        "earning": statement.earnings,
        "shipping": statement.shipping,
        "reversal": statement.reversals,
        "adjustment": statement.adjustments,
    }
    for e in entries:
        if e.kind not in groups:
            continue
        line = lines.get(e.order_line_id) if e.order_line_id else None
        number = e.sub_order.order.number if e.sub_order is not None else ""
        units = line.quantity - line.cancelled_quantity if line is not None else None
        product = f"{line.product_name} ({line.variant_label})" if line is not None else ""
        note = "" if e.kind == "earning" else e.note
        if e.kind == "reversal" and not note:
            note = _("Hoàn tiền cho khách đơn %(number)s", number=number)
        groups[e.kind].append(
            Row(
                e.kind,
                number,
                e.created_at,
                product,
                units,
                e.gross if e.kind == "earning" else 0,
                e.producer_funded,
                e.operator_funded,
                e.commission,
                e.amount,
                note,
            )
        )
    return statement


def for_payout(payout: Payout) -> Statement:
    return build(payout.producer, queries.payout_entries(payout.id), payout)


def unsettled(producer: Producer) -> Statement:
    return build(producer, queries.unsettled_entries(producer.id))


def bank_text(producer: Producer) -> str:
    parts = [producer.bank_name, producer.bank_account_name, producer.bank_account_number]
    return " · ".join(p for p in parts if p) or _("Chưa có tài khoản ngân hàng")


def period_text(start: date, end: date, locale: str) -> str:
    return f"{vn_date(start, locale)} – {vn_date(end - timedelta(days=1), locale)}"


def to_csv(statement: Statement, locale: str = "vi") -> str:
    """The statement as CSV for Excel: a UTF-8 byte-order mark, a few heading rows
    (producer, period, bank account), then one row per entry and a total row."""
    rows: list[list] = []
    row = rows.append
    payout = statement.payout
    row([_("Nhà sản xuất"), statement.producer.name])
    if payout is not None:
        row([_("Kỳ đối soát"), period_text(payout.period_start, payout.period_end, locale)])
        row([_("Trạng thái"), _("Đã chuyển") if payout.status == "paid" else _("Chờ chuyển")])
        if payout.status == "paid":
            row([_("Mã giao dịch"), payout.reference])
    row([_("Tài khoản nhận"), bank_text(statement.producer)])
    row([])
    row([str(c) for c in CSV_COLUMNS])
    for r in statement.rows:
        row(
            [
                str(KIND_LABELS[r.kind]),
                r.order_number,
                vn_datetime(r.at, locale),
                r.product,
                "" if r.units is None else r.units,
                r.gross,
                r.producer_funded,
                r.operator_funded,
                r.commission,
                r.net,
                r.note,
            ]
        )
    row(
        [
            _("Tổng cộng"),
            "",
            "",
            "",
            "",
            statement.gross,
            statement.producer_funded,
            statement.operator_funded,
            statement.commission,
            statement.total,
            "",
        ]
    )
    return csv_text(rows)
