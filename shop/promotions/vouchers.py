"""Vouchers at the cart and the checkout: checking a code, working out its
discount on what is left after the line promotions, taking one use of it with
the order, and giving the use back if the order is cancelled.

A use is taken by a conditional UPDATE (`used_count < usage_limit`) in the
order's transaction: on PostgreSQL the row stays locked until that transaction
ends, so concurrent checkouts redeem it one after another and the limit holds;
the per-customer count is read after that lock is held."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from shop.catalog.reference import reference
from shop.database import rowcount
from shop.errors import ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow, vn_datetime, vnd
from shop.promotions import rules
from shop.promotions.models import Voucher, VoucherRedemption
from shop.promotions.pricing import VariantFacts


class InvalidVoucher(ShopError):
    code = "invalid_voucher"


def normalize_code(code: str | None) -> str:
    return "".join((code or "").split()).upper()[:32]


def find(code: str) -> Voucher | None:
    code = normalize_code(code)
    if not code:
        return None
    return db.session.scalars(select(Voucher).where(Voucher.code == code)).first()


def covers(scope: dict | None, facts: VariantFacts) -> bool:
    """Whether a voucher's scope takes in this SKU (an empty scope takes in all)."""
    scope = scope or {}
    if scope.get("products") and facts.product_id not in scope["products"]:
        return False
    if scope.get("producers") and facts.producer_id not in scope["producers"]:
        return False
    if scope.get("provinces") and facts.province_id not in scope["provinces"]:
        return False
    if scope.get("min_stars") and (facts.stars or 0) < scope["min_stars"]:
        return False
    if scope.get("categories"):
        ref = reference()
        trail = {c.id for c in ref.trail(facts.category_id)}
        if not trail.intersection(scope["categories"]):
            return False
    return True


def used_by(voucher_id: int, user_id: int | None, email: str | None) -> int:
    """Uses of a voucher by one customer (their account, or their e-mail as a guest)."""
    conditions = []
    if user_id is not None:
        conditions.append(VoucherRedemption.user_id == user_id)
    if email:
        conditions.append(VoucherRedemption.email == email.strip().lower())
    if not conditions:
        return 0
    count = db.session.scalar(
        select(func.count())
        .select_from(VoucherRedemption)
        .where(VoucherRedemption.voucher_id == voucher_id, VoucherRedemption.released.is_(False), or_(*conditions))
    )
    return count or 0  # a count always has its one row; the checker cannot know


def check_usable(voucher: Voucher | None, now: datetime | None = None) -> Voucher:
    """Refuse a code that does not exist, is switched off, not started, expired or used up."""
    now = as_utc(now) or utcnow()
    if voucher is None:
        raise InvalidVoucher(_("Mã giảm giá không tồn tại."), code="voucher_unknown")
    if not voucher.active:
        raise InvalidVoucher(_("Mã giảm giá này đã ngừng áp dụng."), code="voucher_inactive")
    if as_utc(voucher.starts_at) > now:
        raise InvalidVoucher(
            _("Mã giảm giá chỉ áp dụng từ %(when)s.", when=vn_datetime(as_utc(voucher.starts_at))),
            code="voucher_not_started",
        )
    if as_utc(voucher.ends_at) <= now:
        raise InvalidVoucher(_("Mã giảm giá đã hết hạn."), code="voucher_expired")
    if voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit:
        raise InvalidVoucher(_("Mã giảm giá đã hết lượt sử dụng."), code="voucher_used_up")
    return voucher


@dataclass(frozen=True)
class PricedLine:
    """A cart line as the voucher sees it: its facts and what it costs after its promotion."""

    facts: VariantFacts
    amount: int


@dataclass(frozen=True)
class VoucherQuote:
    voucher_id: int
    code: str
    discount: int
    shares: tuple[int, ...]  # the discount spread over the lines, in their order


def quote(
    voucher: Voucher | None,
    lines: Sequence[PricedLine],
    *,
    user_id: int | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> VoucherQuote:
    """The voucher's discount on these lines, or InvalidVoucher saying why not.
    The discount applies to the eligible lines' amounts after their promotions,
    never exceeds them, and is spread over those lines in proportion. A code
    that was not found (None) is refused like any other."""
    voucher = check_usable(voucher, now)
    if voucher.per_customer_limit is not None and used_by(voucher.id, user_id, email) >= voucher.per_customer_limit:
        raise InvalidVoucher(_("Bạn đã dùng hết lượt của mã giảm giá này."), code="voucher_customer_limit")
    weights = [line.amount if covers(voucher.scope, line.facts) else 0 for line in lines]
    eligible = sum(weights)
    if eligible <= 0:
        raise InvalidVoucher(_("Mã giảm giá không áp dụng cho sản phẩm nào trong giỏ."), code="voucher_no_lines")
    if eligible < voucher.min_order:
        raise InvalidVoucher(
            _("Mã giảm giá cần đơn từ %(amount)s (tính các sản phẩm được áp dụng).", amount=vnd(voucher.min_order)),
            code="voucher_min_order",
        )
    discount = rules.voucher_discount(eligible, voucher.kind, voucher.value, voucher.max_discount)
    # Spread over the shops first, in whole thousands when their prices are (what each
    # courier collects in cash is then a round sum), then over each shop's lines.
    discount, shares = rules.allocate_by_group(discount, weights, [line.facts.producer_id for line in lines])
    return VoucherQuote(voucher.id, voucher.code, discount, tuple(shares))


def redeem(quoted: VoucherQuote, order_id: int, user_id: int | None, email: str) -> None:
    """Take one use of the voucher for an order (no commit: the order's
    transaction). Raises InvalidVoucher, after rolling back, if the last use
    went to someone else meanwhile or this customer has used up their share."""
    taken = rowcount(
        db.session.execute(
            update(Voucher)
            .where(
                Voucher.id == quoted.voucher_id,
                Voucher.active.is_(True),
                (Voucher.usage_limit.is_(None)) | (Voucher.used_count < Voucher.usage_limit),
            )
            .values(used_count=Voucher.used_count + 1)
            .execution_options(synchronize_session=False)
        )
    )
    if taken != 1:
        db.session.rollback()
        raise InvalidVoucher(_("Mã giảm giá vừa hết lượt sử dụng."), code="voucher_used_up")
    # The voucher row is now locked until this transaction ends: count this customer's uses.
    limit = db.session.scalar(select(Voucher.per_customer_limit).where(Voucher.id == quoted.voucher_id))
    if limit is not None and used_by(quoted.voucher_id, user_id, email) >= limit:
        db.session.rollback()
        raise InvalidVoucher(_("Bạn đã dùng hết lượt của mã giảm giá này."), code="voucher_customer_limit")
    db.session.add(
        VoucherRedemption(
            voucher_id=quoted.voucher_id,
            order_id=order_id,
            user_id=user_id,
            email=email.strip().lower(),
            amount=quoted.discount,
        )
    )


def release(order_id: int) -> None:
    """Give back the voucher use of a cancelled order (no commit; safe to repeat)."""
    redemption = db.session.scalars(
        select(VoucherRedemption).where(VoucherRedemption.order_id == order_id, VoucherRedemption.released.is_(False))
    ).first()
    if redemption is None:
        return
    redemption.released = True
    db.session.execute(
        update(Voucher)
        .where(Voucher.id == redemption.voucher_id, Voucher.used_count > 0)
        .values(used_count=Voucher.used_count - 1)
        .execution_options(synchronize_session=False)
    )


def take_back(order_id: int) -> None:
    """Count again the voucher use of a cancelled order that comes back (a late
    bank transfer paid its discounted total). No commit; safe to repeat."""
    redemption = db.session.scalars(
        select(VoucherRedemption).where(VoucherRedemption.order_id == order_id, VoucherRedemption.released.is_(True))
    ).first()
    if redemption is None:
        return
    redemption.released = False
    db.session.execute(
        update(Voucher)
        .where(Voucher.id == redemption.voucher_id)
        .values(used_count=Voucher.used_count + 1)
        .execution_options(synchronize_session=False)
    )
