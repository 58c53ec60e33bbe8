"""Placing an order: everything priced on the server, stock taken atomically.

Stock is taken with one conditional UPDATE per variant (`stock >= n`), in the
fixed order of shop.orders.stock (variants by id, then promotional quotas by
id) that cancellations also release in, so that two transactions never wait on
each other in opposite orders; any line that cannot be served rolls the whole
order back. Those rows are shared by every buyer of a SKU, so they are written
last, just before the commit: everything else (the order, its e-mails, the
cart) is written first and the row locks are held for a few statements only."""

import contextlib
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.bank import services as bank
from shop.cart.models import Cart
from shop.cart.services import CartView, LineView, OutOfStock, clear_lines, view_cart
from shop.catalog.changes import note_tags
from shop.catalog.services import refresh_products
from shop.checkout.invoice import Invoice
from shop.errors import ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow, vnd
from shop.ledger import services as ledger
from shop.notifications.services import LOW_STOCK, notify_low_stock, notify_order_placed
from shop.orders import stock
from shop.orders.models import ORDER_ALPHABET, REPLACED_REASON, Order, OrderEvent, OrderLine, SubOrder
from shop.orders.services import cancel_unpaid_orders_of_cart
from shop.partners.services import record_variant_changes
from shop.places.models import Province, Ward
from shop.promotions import rules, vouchers
from shop.settings.services import get_int


@dataclass(frozen=True)
class Delivery:
    email: str
    recipient: str
    phone: str
    province_id: int
    ward_id: int
    street: str


class CheckoutError(ShopError):
    code = "checkout_refused"


def new_order_number(now=None) -> str:
    now = as_utc(now) or utcnow()
    return "OC" + now.strftime("%y%m%d") + "-" + "".join(secrets.choice(ORDER_ALPHABET) for _ in range(5))


def address_text(delivery: Delivery) -> tuple[Province, str]:
    ward = db.session.get(Ward, delivery.ward_id)
    if ward is None or ward.province_id != delivery.province_id:
        raise CheckoutError(_l("Phường/xã không thuộc tỉnh/thành đã chọn."), code="bad_address")
    province = db.session.get_one(Province, ward.province_id)  # the ward's own province: a foreign key
    return province, f"{delivery.street}, {ward.name}, {province.name}"


def _commission_rates(lines: list[LineView]) -> dict[tuple[int, int | None], int]:
    """The commission rate in force now for each (producer, category) of the lines, looked up together."""
    keys = {(line.facts.producer_id, line.facts.category_id) for line in lines if line.facts is not None}
    return ledger.commission_rates_bp(list(keys))


def _order_line(line: LineView, view: CartView, rates: dict[tuple[int, int | None], int]) -> OrderLine:
    """The order's snapshot of a cart line: prices, each discount, who funds it,
    why it was given, and the commission rate in force now."""
    promo, voucher = line.promo_discount, line.voucher_discount
    # A promotional discount comes from the line's offer, a voucher share from the cart's voucher.
    offer = line.offer if promo else None
    voucher_quote = view.voucher if voucher else None
    operator_funded = rules.split_funding(promo, offer.operator_share)[0] if offer else 0
    # The names only: the amounts are in their own columns and are formatted
    # in the reader's language where the line is shown.
    reasons = ([offer.promotion_name] if offer else []) + ([voucher_quote.code] if voucher_quote else [])
    return OrderLine(
        variant_id=line.variant_id,
        product_name=line.product_name,
        variant_label=line.variant_label,
        sku=line.sku,
        unit_price=line.unit_price,
        quantity=line.quantity,
        discount=promo + voucher,
        line_total=line.line_total - voucher,
        promotion_id=offer.promotion_id if offer else None,
        enrolment_id=offer.enrolment_id if offer else None,
        promo_units=line.promo_units if promo else 0,
        promo_discount=promo,
        voucher_discount=voucher,
        # Vouchers are the marketplace's; a promotion is shared as the week says.
        operator_funded=operator_funded + voucher,
        discount_reason="; ".join(reasons),
        commission_bp=rates[(line.facts.producer_id, line.facts.category_id)],
    )


def _enrolment_id(line: LineView) -> int | None:
    """The enrolment whose quota the line's promotional units count against, if any."""
    if line.offer is None or not line.promo_units:
        return None
    return line.offer.enrolment_id


def _take_stock(lines: list[LineView]) -> stock.Taken:
    """Take the lines' units and the promotional quota they were priced with, in
    the fixed order of shop.orders.stock. If another order took the last units or
    the last of a quota meanwhile, nothing is placed (the shopper sees the new
    stock or price)."""
    holds = [stock.Hold(line.variant_id, line.quantity, _enrolment_id(line), line.promo_units) for line in lines]
    by_variant = {line.variant_id: line for line in lines}
    try:
        return stock.take(holds)
    except stock.NotEnoughStock as short:
        db.session.rollback()
        line = by_variant[short.variant_id]
        raise OutOfStock(
            _l(
                "Rất tiếc, %(product)s (%(variant)s) vừa hết hàng.",
                product=line.product_name,
                variant=line.variant_label,
            )
        ) from None
    except stock.QuotaSoldOut as gone:
        db.session.rollback()
        line = next(x for x in lines if _enrolment_id(x) == gone.enrolment_id)
        raise CheckoutError(
            _(
                "Suất giá khuyến mãi của %(name)s vừa hết; giỏ hàng đã được cập nhật giá mới, vui lòng xem lại.",
                name=line.product_name,
            ),
            code="price_changed",
        ) from None


def _placed_meanwhile(checkout_key: str) -> Order | None:
    # Nothing is written yet; ending the transaction lets SQLite see what committed since.
    db.session.rollback()
    return db.session.scalars(select(Order).where(Order.checkout_key == checkout_key)).first()


def _note_catalog_change(lines: list[LineView], taken: stock.Taken) -> None:
    """What the order changed in the catalog, from what the stock UPDATEs returned
    (no query while the rows are locked, unless a row ran out): the products'
    pages; a product whose SKU sold out has its summary refreshed (its card and
    listings then follow, shop.catalog.changes); a sold promotional unit changes
    the prices read from the quotas, and a quota sold out its product's card."""
    product_of = {line.variant_id: line.facts.product_id for line in lines if line.facts is not None}
    ran_out = [product_of[v] for v, left in taken.stock_left.items() if left <= 0 and v in product_of]
    if ran_out:
        refresh_products(ran_out)
    tags = {f"p:{pid}" for pid in product_of.values()}
    if taken.quota_left:
        tags.add("quota")
        for line in lines:
            enrolment = _enrolment_id(line)
            if enrolment is not None and taken.quota_left.get(enrolment, 1) <= 0 and line.facts is not None:
                tags.add(f"c:{line.facts.product_id}")
    note_tags(db.session, *tags)


class _NumberTaken(Exception):
    """The order number drawn was already someone's (the flush was rolled back)."""


NUMBER_DRAWS = 3
P = ParamSpec("P")


def _drawn_again_on_a_number_clash(place: Callable[P, Order]) -> Callable[P, Order]:
    """Place again if the random order number was already taken: five characters of
    32 give 33.5 million a day, so at 10,000 orders a day a clash is expected about
    1.5 times a day (birthday bound). The clash rolled everything back, so the next
    draw starts from the cart as it is."""

    @functools.wraps(place)
    def placed(*args: P.args, **kwargs: P.kwargs) -> Order:
        for _draw in range(NUMBER_DRAWS - 1):
            with contextlib.suppress(_NumberTaken):
                return place(*args, **kwargs)
        try:
            return place(*args, **kwargs)
        except _NumberTaken:
            raise RuntimeError(f"{NUMBER_DRAWS} order numbers drawn in a row were taken") from None

    return placed


@_drawn_again_on_a_number_clash
def place_order(
    *,
    cart_id: int,
    user_id: int | None,
    delivery: Delivery,
    payment_method: str,
    checkout_key: str,
    locale: str = "vi",
    expected_total: int | None = None,
    now: datetime | None = None,
    invoice: Invoice | None = None,
) -> Order:
    """Turn the cart into an order split by producer, priced at `now` (default:
    this instant) with the promotions running then and the cart's voucher.
    Idempotent per `checkout_key`: submitting the same review page twice returns
    the first order. With `expected_total` (what the review page showed), a
    total that has changed meanwhile — a week ending, a quota sold out — is
    refused rather than charged."""
    existing = db.session.scalars(select(Order).where(Order.checkout_key == checkout_key)).first()
    if existing is not None:
        return existing
    if payment_method not in ("card", "cod", "vietqr"):
        raise CheckoutError(_l("Chọn cách thanh toán."), code="bad_payment_method")
    if payment_method == "vietqr" and not bank.vietqr_available():
        raise CheckoutError(
            _("Chuyển khoản ngân hàng đang tạm ngừng; vui lòng chọn cách thanh toán khác."), code="vietqr_off"
        )
    cart = db.session.get(Cart, cart_id)
    if cart is None or (user_id is not None and cart.user_id not in (None, user_id)):
        raise CheckoutError(_l("Không tìm thấy giỏ hàng."), code="no_cart")
    province, printed_address = address_text(delivery)
    now = as_utc(now) or utcnow()
    email = delivery.email.strip().lower()
    view = view_cart(cart, dest_province_id=province.id, now=now, email=email)
    if not view.groups or any(line.problem for g in view.groups for line in g.lines):
        # Another submit of the same page may have placed the order (and emptied the cart,
        # or taken the last units) since this one looked: that order is the answer.
        winner = _placed_meanwhile(checkout_key)
        if winner is not None:
            return winner
    if not view.groups:
        raise CheckoutError(_l("Giỏ hàng đang trống."), code="empty_cart")
    for group in view.groups:
        for line in group.lines:
            if line.problem == "sold_out":
                raise OutOfStock(
                    _l(
                        "Rất tiếc, %(product)s (%(variant)s) đã hết hàng.",
                        product=line.product_name,
                        variant=line.variant_label,
                    )
                )
            if line.problem:
                raise OutOfStock(
                    _l(
                        "%(product)s (%(variant)s) chỉ còn %(n)s — hãy sửa số lượng trong giỏ.",
                        product=line.product_name,
                        variant=line.variant_label,
                        n=line.stock,
                    )
                )
    if view.voucher_error:
        raise vouchers.InvalidVoucher(
            _("%(reason)s Hãy bỏ mã %(code)s hoặc nhập mã khác.", reason=view.voucher_error, code=view.voucher_code),
            code="voucher_refused",
        )
    total = view.total
    if expected_total is not None and expected_total != total:
        raise CheckoutError(
            _(
                "Giá hoặc khuyến mãi vừa thay đổi: tổng mới là %(total)s. Vui lòng xem lại rồi đặt hàng.",
                total=vnd(total),
            ),
            code="price_changed",
        )
    if payment_method == "cod" and total > get_int("cod_max_amount"):
        raise CheckoutError(
            _l("Đơn hàng vượt hạn mức thanh toán khi nhận hàng; vui lòng thanh toán bằng thẻ."), code="cod_limit"
        )

    # A cart checked out again replaces its earlier unpaid order (and frees that stock first).
    cancel_unpaid_orders_of_cart(cart.id, reason=REPLACED_REASON)

    lines = [line for g in view.groups for line in g.lines]
    # Card and bank-transfer orders wait for their money, holding the stock meanwhile.
    card = payment_method in ("card", "vietqr")
    hold_minutes = get_int("vietqr_reservation_minutes" if payment_method == "vietqr" else "card_reservation_minutes")
    order = Order(
        number=new_order_number(now),
        checkout_key=checkout_key,
        user_id=user_id,
        cart_id=cart.id,
        created_at=now,
        access_token=secrets.token_urlsafe(32),
        email=email,
        locale=locale,
        recipient=delivery.recipient.strip(),
        phone=delivery.phone,
        province_id=province.id,
        address_text=printed_address,
        payment_method=payment_method,
        status="awaiting_payment" if card else "placed",
        subtotal=view.original_subtotal,
        shipping_total=view.shipping_total,
        discount_total=view.savings,
        voucher_code=view.voucher.code if view.voucher else None,
        voucher_discount=view.voucher_discount,
        total=total,
        reserved_until=now + timedelta(minutes=hold_minutes) if card else None,
        invoice_company=invoice.company if invoice else "",
        invoice_tax_code=invoice.tax_code if invoice else "",
        invoice_address=invoice.address if invoice else "",
        invoice_email=invoice.email if invoice else "",
    )
    rates = _commission_rates(lines)
    for group in view.groups:
        subtotal, shipping_fee = group.subtotal - group.voucher_discount, group.shipping_fee
        if shipping_fee is None:  # view_cart prices shipping for every group once given the destination
            raise RuntimeError(f"the cart was priced without shipping for producer {group.producer_id}")
        sub = SubOrder(
            producer_id=group.producer_id,
            subtotal=subtotal,
            shipping_fee=shipping_fee,
            total=subtotal + shipping_fee,
            weight_grams=group.weight_grams,
        )
        for line in group.lines:
            sub.lines.append(_order_line(line, view, rates))
        order.sub_orders.append(sub)
    order.events.append(OrderEvent(kind="placed", note=payment_method))
    db.session.add(order)
    try:
        # Before anything else writes (clear_lines' DELETE would flush the order
        # outside this handler): a duplicate checkout key shows up here.
        db.session.flush()
    except IntegrityError:
        # The same checkout submitted twice at once: the other request won; give its order.
        db.session.rollback()
        winner = db.session.scalars(select(Order).where(Order.checkout_key == checkout_key)).first()
        if winner is not None:
            return winner
        if db.session.scalar(select(Order.id).where(Order.number == order.number)) is not None:
            raise _NumberTaken from None
        raise
    if not card:
        clear_lines(cart.id, view.variant_ids)
        # A card order is only news once it is paid (orders.mark_paid tells them then).
        notify_order_placed(order)
    db.session.flush()

    # The rows every buyer of these SKUs shares come last: from the first stock
    # UPDATE to the commit, only the variants, quotas and voucher are written, so
    # their locks are held for a few statements rather than the whole order.
    taken = _take_stock(lines)
    if view.voucher:
        vouchers.redeem(view.voucher, order.id, user_id, email)
    low = [variant_id for variant_id, left in taken.stock_left.items() if left <= LOW_STOCK]
    if low:
        notify_low_stock(low, threshold=LOW_STOCK)
    record_variant_changes(taken.variant_ids)
    _note_catalog_change(lines, taken)
    db.session.commit()  # the order, the stock; the pages' purge and the e-mails' tasks follow it
    return order
