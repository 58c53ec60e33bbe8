"""Commission rates, the producer ledger and payouts: the use cases.

The ledger only ever grows. A delivered sub-order earns one `earning` entry per
line (for the units not cancelled) and one `shipping` entry for its fee (the
producers ship themselves); a refund adds a `reversal` that brings the reversed
total to the refunded share of those earnings; operators add `adjustment`s with
a reason. Each week is closed into one `Payout` per producer that is owed money,
which takes the entries it settles; marking it paid adds a `payout` entry of
minus its amount. So a producer's balance is always the sum of its entries:
what is unsettled plus what is due but not yet sent.

Automatic entries carry a `key`, so that delivering, refunding or retrying twice
never writes an entry twice. `record_delivery` and `sync_reversals` run inside
the caller's transaction (no commit); the others commit once and write the
operator's action to the audit log."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from shop.audit.services import record, snapshot
from shop.catalog.models import Category
from shop.database import rowcount
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import VN_TZ, today_vn, utcnow
from shop.ledger.models import CommissionOverride, LedgerEntry, Payout
from shop.orders.models import SubOrder
from shop.producers.models import Producer
from shop.promotions import rules
from shop.settings.services import get_int

MAX_REFERENCE = 120
MAX_REASON = 2000
MAX_ADJUSTMENT = 1_000_000_000  # a billion đồng: anything larger is a typing slip


class LedgerError(ShopError):
    """A ledger or payout action the operator must correct; `field` names the input at fault."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


def _producer(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound(_("Không tìm thấy nhà sản xuất này; có thể hồ sơ đã bị xoá."))
    return producer


# --- commission -------------------------------------------------------------------------


def commission_rate_bp(producer_id: int, category_id: int | None) -> int:
    """The commission rate (basis points) for a producer's product in a category:
    the producer's rate for that category or its nearest ancestor, else the
    producer's own rate, else the marketplace default (setting default_commission_bp).
    Checkout freezes it on each order line."""
    return commission_rates_bp([(producer_id, category_id)])[(producer_id, category_id)]


def commission_rates_bp(keys: Sequence[tuple[int, int | None]]) -> dict[tuple[int, int | None], int]:
    """commission_rate_bp for each (producer, category) of `keys`, in two queries for
    all of them (an order of two producers took four)."""
    producer_ids = {producer_id for producer_id, _category in keys}
    overrides: dict[int, dict[int, int]] = {}
    for producer_id, category_id, rate in db.session.execute(
        select(CommissionOverride.producer_id, CommissionOverride.category_id, CommissionOverride.rate_bp).where(
            CommissionOverride.producer_id.in_(producer_ids)
        )
    ):
        overrides.setdefault(producer_id, {})[category_id] = rate
    own = dict(
        db.session.execute(select(Producer.id, Producer.commission_bp).where(Producer.id.in_(producer_ids)))
        .tuples()
        .all()
    )
    rates: dict[tuple[int, int | None], int] = {}
    for producer_id, category_id in keys:
        mine, seen, current = overrides.get(producer_id, {}), set(), category_id
        while mine and current is not None and current not in seen:
            if current in mine:
                rates[(producer_id, category_id)] = mine[current]
                break
            seen.add(current)
            current = db.session.scalar(select(Category.parent_id).where(Category.id == current))
        else:
            rate = own.get(producer_id)
            rates[(producer_id, category_id)] = rate if rate is not None else get_int("default_commission_bp")
    return rates


def set_producer_rate(producer_id: int, rate_bp: int | None, actor_id: int) -> None:
    """Give a producer its own commission rate, or None to follow the marketplace default.
    Orders already placed keep the rate frozen on their lines."""
    producer = _producer(producer_id)
    if rate_bp is not None and not 0 <= rate_bp <= 10_000:
        raise LedgerError(_("Tỷ lệ hoa hồng phải từ 0 đến 100%."), code="bad_rate", field="rate")
    before = {"commission_bp": producer.commission_bp}
    producer.commission_bp = rate_bp
    record(
        actor_id,
        "commission.set" if rate_bp is not None else "commission.clear",
        "producer",
        producer.id,
        label=producer.name,
        before=before,
        after={"commission_bp": rate_bp},
    )
    db.session.commit()


def set_category_rate(producer_id: int, category_id: int, rate_bp: int, actor_id: int) -> None:
    """Set (or change) a producer's commission rate for one category and the categories under it."""
    producer = _producer(producer_id)
    category = db.session.get(Category, category_id)
    if category is None:
        raise LedgerError(_("Chọn một danh mục."), code="bad_category", field="category_id")
    if not 0 <= rate_bp <= 10_000:
        raise LedgerError(_("Tỷ lệ hoa hồng phải từ 0 đến 100%."), code="bad_rate", field="rate")
    row = db.session.scalar(
        select(CommissionOverride).where(
            CommissionOverride.producer_id == producer.id, CommissionOverride.category_id == category.id
        )
    )
    before = None if row is None else {"category_id": category.id, "rate_bp": row.rate_bp}
    if row is None:
        db.session.add(CommissionOverride(producer_id=producer.id, category_id=category.id, rate_bp=rate_bp))
    else:
        row.rate_bp = rate_bp
    record(
        actor_id,
        "commission.category_set",
        "producer",
        producer.id,
        label=f"{producer.name} · {category.name_vi}",
        before=before,
        after={"category_id": category.id, "rate_bp": rate_bp},
    )
    try:
        db.session.commit()
    except IntegrityError:  # the same override added at the same moment
        db.session.rollback()
        raise LedgerError(_("Danh mục này vừa được đặt tỷ lệ; tải lại trang."), code="conflict") from None


def remove_category_rate(override_id: int, actor_id: int, producer_id: int | None = None) -> None:
    """Remove a category rate: that category then follows the producer's own rate."""
    stmt = select(CommissionOverride).where(CommissionOverride.id == override_id)
    if producer_id is not None:
        stmt = stmt.where(CommissionOverride.producer_id == producer_id)
    row = db.session.scalar(stmt)
    if row is None:
        raise NotFound(_("Tỷ lệ theo danh mục này không còn nữa."))
    producer = _producer(row.producer_id)
    record(
        actor_id,
        "commission.category_remove",
        "producer",
        producer.id,
        label=f"{producer.name} · {row.category.name_vi}",
        before={"category_id": row.category_id, "rate_bp": row.rate_bp},
    )
    db.session.delete(row)
    db.session.commit()


# --- earnings and reversals (inside the caller's transaction) ------------------------------


def _locked_sub(sub_order_id: int) -> SubOrder | None:
    return db.session.scalars(
        select(SubOrder).where(SubOrder.id == sub_order_id).with_for_update().execution_options(populate_existing=True)
    ).first()


def _add_once(entry: LedgerEntry) -> bool:
    """Add an automatic entry unless one with its key already exists."""
    if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == entry.key)) is not None:
        return False
    db.session.add(entry)
    return True


def record_delivery(sub_order_id: int) -> None:
    """Write what a delivered sub-order earns its producer (no commit): one
    earning per line for its kept units and the shipping fee; then any refund
    already made. Safe to call twice."""
    sub = _locked_sub(sub_order_id)
    if sub is None or sub.status != "delivered":
        return
    for line in sub.lines:
        kept = line.quantity - line.cancelled_quantity
        if kept <= 0:
            continue
        earning = rules.line_earning(
            line.unit_price, line.quantity, line.discount, line.operator_funded, line.commission_bp, kept
        )
        _add_once(
            LedgerEntry(
                producer_id=sub.producer_id,
                kind="earning",
                amount=earning.net,
                key=f"earning:{line.id}",
                sub_order_id=sub.id,
                order_line_id=line.id,
                gross=earning.gross,
                producer_funded=earning.producer_funded,
                operator_funded=earning.operator_funded,
                commission=earning.commission,
                note=f"{line.product_name} ({line.variant_label}) × {kept}"[:500],
            )
        )
    if sub.shipping_fee > 0:
        _add_once(
            LedgerEntry(
                producer_id=sub.producer_id,
                kind="shipping",
                amount=sub.shipping_fee,
                key=f"shipping:{sub.id}",
                sub_order_id=sub.id,
                gross=sub.shipping_fee,
            )
        )
    db.session.flush()
    sync_reversals(sub.id)


def _cancelled_share(sub: SubOrder) -> int:
    """What the cancelled units of a sub-order's lines were worth (discounts included)."""
    return sum(line.line_total * line.cancelled_quantity // line.quantity for line in sub.lines)


def sync_reversals(sub_order_id: int) -> None:
    """Bring the reversals of a delivered sub-order's earnings to the refunded
    share of what the shopper paid for what was delivered (no commit). Refunds
    that paid back cancelled units are not counted: those units earned nothing.
    Cumulative, so any number of partial refunds adding up to everything bring
    the earnings back to exactly zero; safe to call twice."""
    sub = _locked_sub(sub_order_id)
    if sub is None:
        return
    sums = dict(
        db.session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.sub_order_id == sub.id, LedgerEntry.kind.in_(("earning", "shipping", "reversal")))
            .group_by(LedgerEntry.kind)
        )
        .tuples()
        .all()
    )
    earned = int(sums.get("earning") or 0) + int(sums.get("shipping") or 0)
    if earned == 0:
        return
    cancelled = _cancelled_share(sub)
    paid_basis = sum(line.line_total for line in sub.lines) - cancelled + sub.shipping_fee
    # Units cancelled before shipping are refunded only on card orders.
    refunded_for_cancelled = min(sub.refunded_amount, cancelled) if sub.order.payment_method == "card" else 0
    refunded_other = sub.refunded_amount - refunded_for_cancelled
    reversed_so_far = -int(sums.get("reversal") or 0)
    due = rules.reversal_due(earned, paid_basis, refunded_other, reversed_so_far)
    if due == 0:
        return
    _add_once(
        LedgerEntry(
            producer_id=sub.producer_id,
            kind="reversal",
            amount=due,
            key=f"reversal:{sub.id}:{refunded_other}",
            sub_order_id=sub.id,
        )
    )
    db.session.flush()


# --- adjustments and balances ---------------------------------------------------------------


def adjust(producer_id: int, amount: int, reason: str, actor_id: int) -> LedgerEntry:
    """An operator's correction to a producer's ledger, positive (owed to the
    producer) or negative (taken back), with a reason the producer reads."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise LedgerError(_("Nhập số tiền điều chỉnh (đồng), khác 0."), code="bad_amount", field="amount")
    if abs(amount) > MAX_ADJUSTMENT:
        raise LedgerError(_("Số tiền điều chỉnh quá lớn."), code="bad_amount", field="amount")
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError(
            _("Nhập lý do điều chỉnh: nhà sản xuất sẽ đọc lý do này."), code="reason_required", field="reason"
        )
    producer = _producer(producer_id)
    entry = LedgerEntry(
        producer_id=producer.id, kind="adjustment", amount=amount, note=reason[:MAX_REASON], actor_id=actor_id
    )
    db.session.add(entry)
    db.session.flush()
    record(
        actor_id,
        "ledger.adjust",
        "producer",
        producer.id,
        label=producer.name,
        reason=reason,
        after={"entry_id": entry.id, "amount": amount},
    )
    db.session.commit()
    return entry


def balance(producer_id: int) -> int:
    """What the marketplace owes the producer now: the sum of all its entries."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.producer_id == producer_id)
        )
    )


# --- payout periods --------------------------------------------------------------------------


def period_of(day: date) -> tuple[date, date]:
    """The payout week holding `day`: Monday to the next Monday (Vietnam dates)."""
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=7)


def vn_midnight(day: date) -> datetime:
    """00:00 in Vietnam on `day`, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(UTC)


def close_period(period_start: date, actor_id: int | None = None, *, today: date | None = None) -> list[int]:
    """Close the payout week starting on `period_start` (a Monday): one payout per
    producer whose unsettled entries made before the week's end add up to more
    than zero; those entries are then settled by it. A zero or negative total
    stays unsettled and carries over. Returns the ids of the payouts made; closing
    the same week again makes none. A week can be closed once it has ended."""
    if not isinstance(period_start, date) or period_start.weekday() != 0:
        raise LedgerError(_("Kỳ đối soát bắt đầu vào thứ Hai."), code="bad_period", field="period_start")
    start, end = period_of(period_start)
    if end > (today or today_vn()):
        raise LedgerError(
            _("Kỳ này chưa kết thúc: chỉ chốt được từ 00:00 thứ Hai tuần sau."),
            code="period_open",
            field="period_start",
        )
    cutoff = vn_midnight(end)
    closed = set(db.session.scalars(select(Payout.producer_id).where(Payout.period_start == start)))
    unsettled = (
        LedgerEntry.payout_id.is_(None),
        LedgerEntry.kind != "payout",
        LedgerEntry.created_at < cutoff,
    )
    totals = db.session.execute(
        select(LedgerEntry.producer_id, func.sum(LedgerEntry.amount))
        .where(*unsettled)
        .group_by(LedgerEntry.producer_id)
        .order_by(LedgerEntry.producer_id)
    ).all()
    try:
        made = _settle(start, end, unsettled, [p for p, total in totals if p not in closed and total > 0])
        if actor_id is not None or made:
            record(
                actor_id,
                "payout.close_period",
                "payout_period",
                None,
                label=f"{start.isoformat()} → {end.isoformat()}",
                after={"payouts": made},
            )
        db.session.commit()
    except IntegrityError:  # the same week closed at the same moment elsewhere
        db.session.rollback()
        return []
    db.session.expire_all()
    return made


def _settle(start: date, end: date, unsettled: tuple, producer_ids: list[int]) -> list[int]:
    made = []
    for producer_id in producer_ids:
        # Lock the entries, then sum what is still unsettled: another close may have taken some.
        entries = db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.producer_id == producer_id, *unsettled)
            .order_by(LedgerEntry.id)
            .with_for_update()
        ).all()
        amount = sum(e.amount for e in entries)
        if amount <= 0:
            continue
        payout = Payout(producer_id=producer_id, period_start=start, period_end=end, amount=amount, status="due")
        db.session.add(payout)
        db.session.flush()
        db.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id.in_([e.id for e in entries]))
            .values(payout_id=payout.id)
            .execution_options(synchronize_session=False)
        )
        made.append(payout.id)
    return made


def close_last_week(now: datetime | None = None) -> list[int]:
    """Close the payout week that ended most recently (for the Monday beat task)."""
    today = today_vn(now)
    start, _end = period_of(today - timedelta(days=7))
    return close_period(start, today=today)


def mark_paid(payout_id: int, reference: str, actor_id: int) -> Payout:
    """Record that a due payout was sent, with the bank transfer's reference: the
    producer's balance drops by its amount (a `payout` entry). Never twice."""
    reference = (reference or "").strip()
    if not reference:
        raise LedgerError(
            _("Nhập mã giao dịch chuyển khoản của ngân hàng."), code="reference_required", field="reference"
        )
    if len(reference) > MAX_REFERENCE:
        raise LedgerError(_("Mã giao dịch quá dài (tối đa 120 ký tự)."), code="bad_reference", field="reference")
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise NotFound(_("Không tìm thấy bảng đối soát."))
    if not (payout.producer.bank_account_number and payout.producer.bank_bin):
        raise LedgerError(
            _("Nhà sản xuất chưa khai báo tài khoản ngân hàng: chưa thể ghi nhận đã chuyển tiền."),
            code="no_bank_account",
            field="bank_account",
        )
    now = utcnow()
    changed = rowcount(
        db.session.execute(
            update(Payout)
            .where(Payout.id == payout_id, Payout.status == "due")
            .values(status="paid", reference=reference, paid_at=now, paid_by_id=actor_id)
            .execution_options(synchronize_session=False)
        )
    )
    if changed != 1:
        db.session.rollback()
        raise LedgerError(_("Bảng đối soát này đã được đánh dấu đã chuyển tiền."), code="already_paid")
    db.session.refresh(payout)
    db.session.add(
        LedgerEntry(
            producer_id=payout.producer_id,
            kind="payout",
            amount=-payout.amount,
            key=f"payout:{payout.id}",
            payout_id=payout.id,
            note=reference,
            actor_id=actor_id,
        )
    )
    record(
        actor_id,
        "payout.mark_paid",
        "payout",
        payout.id,
        label=f"{payout.producer.name} · {payout.period_start.isoformat()}",
        before={"status": "due"},
        after=snapshot(payout, ("status", "reference", "paid_at", "amount")),
    )
    db.session.commit()
    return payout
