"""Bank transfers by VietQR: the marketplace's receiving account, the transfer an
order asks for, and incoming transactions matched to orders.

Every way a transaction arrives (SePay's webhook, the reconciliation job, an
operator matching one by hand) goes through `_apply`, so they all give the same
answer, once per transaction id:

* the exact amount due -> the order is paid through `shop.orders.services.mark_paid`,
  the same path as a card payment;
* less -> counted; the order stays awaiting payment with the rest due, its hold
  extended, and its page shows a QR for the remainder;
* more, or a transfer for an order already paid or cancelled -> the order is paid
  if it can be, and whatever is left over is flagged for refund;
* after the hold lapsed -> the order is revived if its stock is still there,
  otherwise the transfer is flagged for refund;
* no code, or an unknown one -> the transaction waits in the unmatched queue in
  /ops, where an operator matches it to an order or flags it for refund.

Refunds of bank transfers are made by the operator from the bank's own app
(there is no API to send money back); the console lists what is due and records
the bank's reference when it is done."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shop.audit.services import record, snapshot
from shop.bank import codes, directory, sepay
from shop.bank.models import BankTransfer
from shop.bank.vietqr import TransferRequest
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.inputs import DB_INT_MAX
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent
from shop.settings import services as settings

log = logging.getLogger(__name__)

PROVIDER = "sepay"
MAX_AMOUNT = DB_INT_MAX  # đồng (the amount columns are 32-bit on PostgreSQL); larger is no order of ours


class BankError(ShopError):
    code = "bank_refused"

    def __init__(self, message, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


class BadNotice(Exception):
    """A notification we cannot use (it is acknowledged and changes nothing)."""


# --- the receiving account ------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    bank: directory.Bank
    number: str
    holder: str


def receiving_account() -> Account | None:
    """The marketplace's account for VietQR transfers, or None if not set up."""
    bank = directory.by_bin(settings.get_text("vietqr_bank_bin"))
    number = settings.get_text("vietqr_account_number")
    if bank is None or not number:
        return None
    return Account(bank, number, settings.get_text("vietqr_account_name"))


def vietqr_available() -> bool:
    """Whether checkout offers bank transfer: switched on, with an account to pay into."""
    return bool(settings.get_int("vietqr_enabled")) and receiving_account() is not None


def check_account(bank_bin: str, number: str, holder: str) -> tuple[str, str, str]:
    """Validated (BIN, account number, holder) or a BankError naming the field."""
    if directory.by_bin(bank_bin) is None:
        raise BankError(_("Chọn ngân hàng trong danh sách."), code="bad_bank", field="bank_bin")
    number = directory.normalise_account(number)
    if not directory.valid_account(number):
        raise BankError(_("Số tài khoản gồm 6 đến 19 chữ số."), code="invalid_account_number", field="account_number")
    holder = directory.normalise_holder(holder)
    if not directory.valid_holder(holder):
        raise BankError(_("Nhập tên chủ tài khoản như ngân hàng in."), code="bad_holder", field="account_name")
    return bank_bin, number, holder


def configure(actor_id: int | None, *, enabled: bool, bank_bin: str, number: str, holder: str, minutes: int) -> bool:
    """The operator sets the receiving account and switches VietQR on or off
    (audited; `actor_id` None: the system, e.g. the demo seed). Switching on needs a
    valid account. Returns whether anything changed."""
    low, high = settings.LIMITS["vietqr_reservation_minutes"]
    if not isinstance(minutes, int) or not low <= minutes <= high:
        raise BankError(_("Thời gian giữ hàng phải từ 5 đến 1440 phút."), field="vietqr_reservation_minutes")
    if enabled or bank_bin or number or holder:
        bank_bin, number, holder = check_account(bank_bin, number, holder)
    before = {
        "vietqr_enabled": settings.get_int("vietqr_enabled"),
        "vietqr_reservation_minutes": settings.get_int("vietqr_reservation_minutes"),
        "vietqr_bank_bin": settings.get_text("vietqr_bank_bin"),
        "vietqr_account_number": settings.get_text("vietqr_account_number"),
        "vietqr_account_name": settings.get_text("vietqr_account_name"),
    }
    after = {
        "vietqr_enabled": int(enabled),
        "vietqr_reservation_minutes": minutes,
        "vietqr_bank_bin": bank_bin,
        "vietqr_account_number": number,
        "vietqr_account_name": holder,
    }
    if before == after:
        return False
    settings.set_int("vietqr_enabled", int(enabled))
    settings.set_int("vietqr_reservation_minutes", minutes)
    for key, text in (
        ("vietqr_bank_bin", bank_bin),
        ("vietqr_account_number", number),
        ("vietqr_account_name", holder),
    ):
        settings.set_text(key, text)
    changed = [k for k in after if before[k] != after[k]]
    record(
        actor_id,
        "settings.vietqr",
        "setting",
        None,
        label=", ".join(changed),
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    db.session.commit()
    return True


def transfer_for(order: Order) -> TransferRequest | None:
    """The transfer an order awaiting payment asks for: what is still due, to our
    account, with the order's payment code as the note."""
    account = receiving_account()
    if account is None or order.payment_method != "vietqr" or order.amount_due <= 0:
        return None
    return TransferRequest(account.bank.bin, account.number, order.amount_due, order.payment_code)


def payout_reference(payout) -> str:
    """The transfer note of a payout to a producer: names the statement, so the
    producer's bank statement says what it is for."""
    return f"CHO OCOP DOI SOAT DS{payout.id:06d}"


def payout_transfer(payout) -> TransferRequest | None:
    """The VietQR the operator scans to pay a due statement: exactly its amount,
    to the producer's account on file, with the statement's reference as note."""
    producer = payout.producer
    bank = directory.by_bin(producer.bank_bin)
    if payout.status != "due" or payout.amount <= 0 or bank is None or not producer.bank_account_number:
        return None
    return TransferRequest(bank.bin, producer.bank_account_number, payout.amount, payout_reference(payout))


# --- incoming transactions ------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    transaction_id: str
    gateway: str
    transaction_date: str
    account_number: str
    sub_account: str
    code: str
    content: str
    reference_code: str
    amount: int


def _text(data: dict, key: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise BadNotice(f"{key} is not text")
    return str(value).strip()[:limit]


def parse_notice(data: object) -> Notice:
    """A SePay notification as a Notice; BadNotice if it is not one we can use
    (not an object, no id, not incoming money, amount not a positive integer)."""
    if not isinstance(data, dict):
        raise BadNotice("not a JSON object")
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
        raise BadNotice("no transaction id")
    transaction_id = str(raw_id).strip()
    if len(transaction_id) > 64:
        raise BadNotice("transaction id too long")
    if data.get("transferType") != "in":
        raise BadNotice("not an incoming transfer")
    amount = data.get("transferAmount")
    if isinstance(amount, float) and amount.is_integer():
        amount = int(amount)
    if isinstance(amount, str) and amount.strip().isdigit():
        amount = int(amount.strip())
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise BadNotice("amount is not a positive whole number of đồng")
    return Notice(
        transaction_id=transaction_id,
        gateway=_text(data, "gateway", 64),
        transaction_date=_text(data, "transactionDate", 32),
        account_number=_text(data, "accountNumber", 40),
        sub_account=_text(data, "subAccount", 40),
        code=_text(data, "code", 64),
        content=_text(data, "content", 2000),
        reference_code=_text(data, "referenceCode", 64),
        amount=amount,
    )


def _find_order(*texts: str) -> Order | None:
    for code in codes.candidates(*texts):
        order = db.session.scalars(
            select(Order).where(Order.number == codes.order_number(code), Order.payment_method == "vietqr")
        ).first()
        if order is not None:
            return order
    return None


def receive(data: object) -> dict:
    """Process one notification (the webhook and reconciliation). Always returns
    what SePay should get back ({"success": True, ...}); nothing happens twice."""
    try:
        notice = parse_notice(data)
    except BadNotice as err:
        log.info("bank notification ignored: %s", err)
        return {"success": True, "ignored": str(err)}
    row = BankTransfer(
        provider=PROVIDER,
        transaction_id=notice.transaction_id,
        gateway=notice.gateway,
        transaction_date=notice.transaction_date,
        account_number=notice.account_number,
        sub_account=notice.sub_account,
        code=notice.code,
        content=notice.content,
        reference_code=notice.reference_code,
        amount=notice.amount,
        state="unmatched",
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return {"success": True, "duplicate": True}
    order = _find_order(notice.code, notice.content)
    if order is None:
        row.note = "no known payment code"
        db.session.commit()
        return {"success": True, "state": "unmatched"}
    return {"success": True, "state": _apply(row, order.id)}


def _refund(row: BankTransfer, amount: int, why: str) -> None:
    if amount <= 0:
        return
    row.refund_amount += amount
    row.refund_state = "due"
    row.note = (f"{row.note}; {why}" if row.note else why)[:1000]


def _apply(row: BankTransfer, order_id: int) -> str:
    """Count a stored transaction towards an order (commits). Returns what became
    of it: "paid", "partly_paid", "surplus" (paid, the rest to refund),
    "refund" (nothing kept)."""
    # populate_existing: the order may already be in the session (found by its code); the
    # locked read must replace those attributes, or two transfers at once lose one's amount.
    order = db.session.scalars(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    row.order_id = order.id
    now = utcnow()
    hold = now + timedelta(minutes=settings.get_int("vietqr_reservation_minutes"))
    if order.status == "cancelled" and orders.revive_lapsed(order.id, hold):
        db.session.refresh(order)
    if order.status != "awaiting_payment":
        row.state = "refund"
        why = "order already paid" if order.status == "paid" else "order cancelled and its stock is gone"
        _refund(row, row.amount, why)
        order.events.append(OrderEvent(kind="transfer_refund_due", note=f"{row.amount} vnd: {why}"))
        db.session.commit()
        if order.status == "cancelled":
            flag_refunds_of_cancelled(order.id)
        return "refund"
    due_before = order.amount_due
    counted = min(row.amount, due_before)
    row.state, row.applied_amount = "applied", counted
    due = orders.count_transfer(order, counted, f"{row.gateway} {row.reference_code}".strip())
    if due:
        orders.extend_hold(order, hold)
        db.session.commit()
        return "partly_paid"
    surplus = row.amount - counted
    if surplus:
        _refund(row, surplus, "paid more than was due")
        order.events.append(OrderEvent(kind="transfer_surplus", note=f"{surplus} vnd to refund"))
    outcome = orders.mark_paid(order.id, order.total, "vnd")  # the card payments' path; commits
    if outcome != "paid":  # cannot happen under the row lock; never lose the money
        log.error("order %s: mark_paid said %s after a transfer", order.number, outcome)
    return "surplus" if surplus else "paid"


def flag_refunds_of_cancelled(order_id: int | None = None) -> int:
    """Transfers counted towards orders that were cancelled after all (the hold
    ran out with part paid, the shopper cancelled): flag what they paid for refund.
    Returns how many were flagged (commits)."""
    stmt = (
        select(BankTransfer)
        .join(Order, Order.id == BankTransfer.order_id)
        .where(BankTransfer.state == "applied", BankTransfer.applied_amount > 0, Order.status == "cancelled")
    )
    if order_id is not None:
        stmt = stmt.where(Order.id == order_id)
    flagged = 0
    for row in db.session.scalars(stmt.with_for_update().execution_options(populate_existing=True)):
        amount = row.applied_amount
        row.applied_amount, row.state = 0, "refund"
        _refund(row, amount, "order cancelled before it was paid in full")
        assert row.order is not None  # joined on Order above
        row.order.amount_received = max(0, row.order.amount_received - amount)
        flagged += 1
    db.session.commit()
    return flagged


def flag_refund_for_cancellation(order_id: int, amount: int, reason: str) -> int:
    """A part of an order paid by transfer was cancelled: its money goes back to
    the shopper, moved on the order's transfers from "counted" to "to refund"
    (no commit: the cancellation's transaction). Returns the amount flagged."""
    order = db.session.get_one(Order, order_id)  # the order being cancelled
    left = max(0, amount)
    rows = db.session.scalars(
        select(BankTransfer)
        .where(BankTransfer.order_id == order_id, BankTransfer.applied_amount > 0)
        .order_by(BankTransfer.id.desc())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for row in rows:
        if left <= 0:
            break
        part = min(left, row.applied_amount)
        row.applied_amount -= part
        _refund(row, part, f"cancelled: {reason}"[:200])
        left -= part
    flagged = max(0, amount) - left
    if flagged:
        order.events.append(OrderEvent(kind="transfer_refund_due", note=f"{flagged} vnd: {reason}"[:500]))
    return flagged


def reconcile(limit: int = 100) -> dict:
    """Ask SePay for recent transactions and process the ones the webhook missed;
    flag for refund what cancelled orders had received. Returns counts."""
    counts: dict[str, Any] = {"listed": 0, "new": 0, "flagged": 0, "error": ""}
    try:
        rows = sepay.recent_transactions(limit)
    except sepay.SepayError as err:
        counts["error"] = str(err)
        rows = []
    for data in rows:
        counts["listed"] += 1
        answer = receive(data)
        if "state" in answer:
            counts["new"] += 1
    counts["flagged"] = flag_refunds_of_cancelled()
    return counts


# --- the operator's queue -------------------------------------------------------------------

_AUDITED = ("state", "order_id", "applied_amount", "refund_amount", "refund_state", "refund_reference")


def _transfer(transfer_id: int) -> BankTransfer:
    row = db.session.scalars(
        select(BankTransfer)
        .where(BankTransfer.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(_("Không tìm thấy giao dịch."))
    return row


def match(transfer_id: int, order_number: str, actor_id: int, reason: str = "") -> str:
    """An operator gives an unmatched transfer to an order (audited); it is then
    counted exactly as if its note had named the order."""
    row = _transfer(transfer_id)
    if row.state != "unmatched":
        raise BankError(_("Giao dịch này đã được xử lý."), code="already_resolved")
    number = (order_number or "").strip().upper()
    found = codes.candidates(number)
    order = db.session.scalars(
        select(Order).where(
            Order.number == (codes.order_number(found[0]) if found else number), Order.payment_method == "vietqr"
        )
    ).first()
    if order is None:
        raise BankError(
            _("Không có đơn chuyển khoản nào mang mã %(number)s.", number=number[:30]),
            code="no_such_order",
            field="order_number",
        )
    before = snapshot(row, _AUDITED)
    row.resolved_at, row.resolved_by_id = utcnow(), actor_id
    record(
        actor_id,
        "bank_transfer.match",
        "bank_transfer",
        row.id,
        label=f"{row.transaction_id} → {order.number}",
        reason=reason,
        before=before,
        after={"order_id": order.id, "state": "applied"},
    )
    return _apply(row, order.id)


def mark_for_refund(transfer_id: int, actor_id: int, reason: str) -> BankTransfer:
    """An operator decides an unmatched transfer goes back to its sender (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise BankError(_("Cho biết lý do hoàn tiền."), code="missing_reason", field="reason")
    row = _transfer(transfer_id)
    if row.state != "unmatched":
        raise BankError(_("Giao dịch này đã được xử lý."), code="already_resolved")
    before = snapshot(row, _AUDITED)
    row.state = "refund"
    _refund(row, row.amount, reason[:200])
    row.resolved_at, row.resolved_by_id = utcnow(), actor_id
    record(
        actor_id,
        "bank_transfer.refund",
        "bank_transfer",
        row.id,
        label=row.transaction_id,
        reason=reason,
        before=before,
        after=snapshot(row, _AUDITED),
    )
    db.session.commit()
    return row


def mark_refunded(transfer_id: int, reference: str, actor_id: int) -> BankTransfer:
    """Record that the money flagged for refund was sent back, with the bank's reference."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 120:
        raise BankError(
            _("Nhập mã giao dịch hoàn tiền của ngân hàng (tối đa 120 ký tự)."),
            code="reference_required",
            field="reference",
        )
    row = _transfer(transfer_id)
    if row.refund_state != "due":
        raise BankError(_("Giao dịch này không có khoản nào cần hoàn."), code="nothing_due")
    before = snapshot(row, _AUDITED)
    row.refund_state, row.refund_reference = "refunded", reference
    row.resolved_at, row.resolved_by_id = utcnow(), actor_id
    record(
        actor_id,
        "bank_transfer.refunded",
        "bank_transfer",
        row.id,
        label=row.transaction_id,
        before=before,
        after=snapshot(row, _AUDITED),
    )
    db.session.commit()
    return row


def queue_counts() -> dict[str, int]:
    unmatched = db.session.scalar(select(func.count()).where(BankTransfer.state == "unmatched")) or 0
    due = db.session.scalar(select(func.count()).where(BankTransfer.refund_state == "due")) or 0
    return {"unmatched": unmatched, "refund_due": due}


def transfers_for_console(view: str = "unmatched", limit: int = 200) -> list[BankTransfer]:
    stmt = select(BankTransfer)
    if view == "unmatched":
        stmt = stmt.where(BankTransfer.state == "unmatched")
    elif view == "refund":
        stmt = stmt.where(BankTransfer.refund_state == "due")
    return list(db.session.scalars(stmt.order_by(BankTransfer.received_at.desc(), BankTransfer.id.desc()).limit(limit)))


def transfers_of_order(order_id: int) -> list[BankTransfer]:
    return list(
        db.session.scalars(select(BankTransfer).where(BankTransfer.order_id == order_id).order_by(BankTransfer.id))
    )
