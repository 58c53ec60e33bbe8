"""Placing an order: everything priced on the server, stock taken atomically.

Stock is taken with one conditional UPDATE per variant (`stock >= n`), in
variant-id order so that two checkouts never wait on each other in opposite
orders; any line that cannot be served rolls the whole order back."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shop.cart.models import Cart
from shop.cart.services import OutOfStock, clear_lines, view_cart
from shop.catalog.models import Variant
from shop.catalog.services import commit_catalog_change
from shop.errors import ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.services import notify_low_stock, notify_order_placed
from shop.orders.models import Order, OrderEvent, OrderLine, SubOrder
from shop.orders.services import cancel_unpaid_orders_of_cart
from shop.partners.services import record_variant_changes
from shop.places.models import Province, Ward
from shop.settings.services import get_int

ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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
    now = now or utcnow()
    return "OC" + now.strftime("%y%m%d") + "-" + "".join(secrets.choice(ORDER_ALPHABET) for _ in range(5))


def address_text(delivery: Delivery) -> tuple[Province, str]:
    ward = db.session.get(Ward, delivery.ward_id)
    if ward is None or ward.province_id != delivery.province_id:
        raise CheckoutError("Phường/xã không thuộc tỉnh/thành đã chọn.", code="bad_address")
    province = db.session.get(Province, delivery.province_id)
    return province, f"{delivery.street}, {ward.name}, {province.name}"


def place_order(
    *, cart_id: int, user_id: int | None, delivery: Delivery, payment_method: str, checkout_key: str, locale: str = "vi"
) -> Order:
    """Turn the cart into an order split by producer. Idempotent per `checkout_key`:
    submitting the same review page twice returns the first order."""
    existing = db.session.scalars(select(Order).where(Order.checkout_key == checkout_key)).first()
    if existing is not None:
        return existing
    if payment_method not in ("card", "cod"):
        raise CheckoutError("Chọn cách thanh toán.", code="bad_payment_method")
    cart = db.session.get(Cart, cart_id)
    if cart is None or (user_id is not None and cart.user_id not in (None, user_id)):
        raise CheckoutError("Không tìm thấy giỏ hàng.", code="no_cart")
    province, printed_address = address_text(delivery)
    view = view_cart(cart, dest_province_id=province.id)
    if not view.groups:
        raise CheckoutError("Giỏ hàng đang trống.", code="empty_cart")
    for group in view.groups:
        for line in group.lines:
            if line.problem == "sold_out":
                raise OutOfStock(f"Rất tiếc, {line.product_name} ({line.variant_label}) đã hết hàng.")
            if line.problem:
                raise OutOfStock(
                    f"{line.product_name} ({line.variant_label}) chỉ còn {line.stock} — hãy sửa số lượng trong giỏ."
                )
    total = view.subtotal + view.shipping_total
    if payment_method == "cod" and total > get_int("cod_max_amount"):
        raise CheckoutError(
            "Đơn hàng vượt hạn mức thanh toán khi nhận hàng; vui lòng thanh toán bằng thẻ.", code="cod_limit"
        )

    # A cart checked out again replaces its earlier unpaid order (and frees that stock first).
    cancel_unpaid_orders_of_cart(cart.id, reason="replaced by a new checkout of the same cart")

    lines = sorted((line for g in view.groups for line in g.lines), key=lambda line: line.variant_id)
    for line in lines:
        taken = db.session.execute(
            update(Variant)
            .where(Variant.id == line.variant_id, Variant.stock >= line.quantity)
            .values(stock=Variant.stock - line.quantity)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            db.session.rollback()
            raise OutOfStock(f"Rất tiếc, {line.product_name} ({line.variant_label}) vừa hết hàng.")

    now = utcnow()
    card = payment_method == "card"
    order = Order(
        number=new_order_number(now),
        checkout_key=checkout_key,
        user_id=user_id,
        cart_id=cart.id,
        created_at=now,
        access_token=secrets.token_urlsafe(32),
        email=delivery.email.strip().lower(),
        locale=locale,
        recipient=delivery.recipient.strip(),
        phone=delivery.phone,
        province_id=province.id,
        address_text=printed_address,
        payment_method=payment_method,
        status="awaiting_payment" if card else "placed",
        subtotal=view.subtotal,
        shipping_total=view.shipping_total,
        total=total,
        reserved_until=now + timedelta(minutes=get_int("card_reservation_minutes")) if card else None,
    )
    for group in view.groups:
        sub = SubOrder(
            producer_id=group.producer_id,
            subtotal=group.subtotal,
            shipping_fee=group.shipping_fee,
            total=group.subtotal + group.shipping_fee,
            weight_grams=group.weight_grams,
        )
        for line in group.lines:
            sub.lines.append(
                OrderLine(
                    variant_id=line.variant_id,
                    product_name=line.product_name,
                    variant_label=line.variant_label,
                    sku=line.sku,
                    unit_price=line.unit_price,
                    quantity=line.quantity,
                    line_total=line.line_total,
                )
            )
        order.sub_orders.append(sub)
    order.events.append(OrderEvent(kind="placed", note=payment_method))
    db.session.add(order)
    if not card:
        clear_lines(cart.id, view.variant_ids)
    try:
        db.session.flush()
    except IntegrityError:
        # The same checkout submitted twice at once: the other request won; give its order.
        db.session.rollback()
        winner = db.session.scalars(select(Order).where(Order.checkout_key == checkout_key)).first()
        if winner is None:
            raise
        return winner
    notify_order_placed(order)
    notify_low_stock(view.variant_ids)
    record_variant_changes(view.variant_ids)
    product_ids = db.session.scalars(
        select(Variant.product_id).where(Variant.id.in_(view.variant_ids)).distinct()
    ).all()
    commit_catalog_change(product_ids)  # commits the order, the stock and the products' stock flags
    return order
