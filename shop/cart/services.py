"""Cart use cases. Quantities are capped by the stock on hand; prices are never
stored in the cart: they are read from the catalog whenever the cart is shown."""

import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from shop.cart.models import Cart, CartLine
from shop.catalog.models import Product, Variant
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, today_vn, utcnow
from shop.places.models import Province
from shop.producers.models import Producer
from shop.promotions import rules, vouchers
from shop.promotions.pricing import Offer, VariantFacts, best_offers, facts_of
from shop.shipping.rules import delivery_days, shipping_fee, zone_between
from shop.shipping.services import current_rates

MAX_LINE_QUANTITY = 99


class OutOfStock(ShopError):
    status = 409
    code = "out_of_stock"


@dataclass
class AddResult:
    quantity: int
    capped: bool


def get_cart(user_id: int | None, token: str | None) -> Cart | None:
    if user_id is not None:
        return db.session.scalars(select(Cart).where(Cart.user_id == user_id)).first()
    if token:
        return db.session.scalars(select(Cart).where(Cart.token == token, Cart.user_id.is_(None))).first()
    return None


def _get_or_create(user_id: int | None, token: str | None) -> Cart:
    cart = get_cart(user_id, token)
    if cart is None:
        cart = Cart(user_id=user_id, token=None if user_id else (token or secrets.token_urlsafe(24)))
        db.session.add(cart)
        db.session.flush()
    return cart


def _sellable_variant(variant_id: int) -> Variant:
    variant = db.session.scalars(
        select(Variant)
        .join(Product)
        .where(Variant.id == variant_id, Product.listed.is_(True))
        .options(joinedload(Variant.product))
    ).first()
    if variant is None:
        raise NotFound(_l("Sản phẩm này không còn bán."))
    return variant


def add_item(user_id: int | None, token: str | None, variant_id: int, quantity: int) -> tuple[str | None, AddResult]:
    """Add `quantity` of a variant; returns the visitor's cart token (None for a user) and what was added."""
    if quantity < 1:
        raise ShopError(_l("Số lượng phải từ 1 trở lên."), code="bad_quantity")
    variant = _sellable_variant(variant_id)
    if variant.stock <= 0:
        raise OutOfStock(
            _l("%(product)s (%(variant)s) đã hết hàng.", product=variant.product.name, variant=variant.label)
        )
    cart = _get_or_create(user_id, token)
    line = db.session.scalars(
        select(CartLine).where(CartLine.cart_id == cart.id, CartLine.variant_id == variant_id)
    ).first()
    wanted = (line.quantity if line else 0) + quantity
    allowed = min(wanted, variant.stock, MAX_LINE_QUANTITY)
    if line is None:
        db.session.add(CartLine(cart_id=cart.id, variant_id=variant_id, quantity=allowed))
    else:
        line.quantity = allowed
    token = cart.token  # read before the commit expires the cart (a SELECT more)
    db.session.commit()
    return token, AddResult(allowed, allowed < wanted)


def set_quantity(user_id: int | None, token: str | None, variant_id: int, quantity: int) -> AddResult:
    """Set a line's quantity (0 removes it), capped by stock."""
    cart = get_cart(user_id, token)
    line = (
        None
        if cart is None
        else db.session.scalars(
            select(CartLine).where(CartLine.cart_id == cart.id, CartLine.variant_id == variant_id)
        ).first()
    )
    if line is None:
        raise NotFound(_l("Sản phẩm không có trong giỏ."))
    if quantity <= 0:
        db.session.delete(line)
        db.session.commit()
        return AddResult(0, False)
    stock = db.session.scalar(select(Variant.stock).where(Variant.id == variant_id)) or 0
    allowed = min(quantity, stock, MAX_LINE_QUANTITY)
    if allowed <= 0:
        db.session.delete(line)
    else:
        line.quantity = allowed
    db.session.commit()
    return AddResult(allowed, allowed < quantity)


def merge_carts(token: str | None, user_id: int) -> None:
    """On sign-in, move a visitor's cart into the user's, adding quantities (capped by stock)."""
    if not token:
        return
    visitor = get_cart(None, token)
    if visitor is None:
        return
    cart = _get_or_create(user_id, None)
    existing = {line.variant_id: line for line in cart.lines}
    for line in visitor.lines:
        stock = line.variant.stock if line.variant else 0
        if line.variant_id in existing:
            target = existing[line.variant_id]
            target.quantity = max(1, min(target.quantity + line.quantity, stock, MAX_LINE_QUANTITY))
        elif stock > 0:
            db.session.add(
                CartLine(
                    cart_id=cart.id, variant_id=line.variant_id, quantity=min(line.quantity, stock, MAX_LINE_QUANTITY)
                )
            )
    # Both as statements: deleting the loaded visitor cart by the ORM as well would delete
    # its lines twice (0 rows matched) when the page had already read them.
    db.session.execute(delete(CartLine).where(CartLine.cart_id == visitor.id))
    db.session.execute(delete(Cart).where(Cart.id == visitor.id))
    db.session.commit()


def clear_lines(cart_id: int, variant_ids: list[int]) -> None:
    """Remove bought lines, and the voucher the order used (no commit: part of
    the order's transaction). A card order does this once it is paid, so a
    shopper whose payment fails goes back to the cart as it was."""
    db.session.execute(delete(CartLine).where(CartLine.cart_id == cart_id, CartLine.variant_id.in_(variant_ids)))
    db.session.execute(
        update(Cart).where(Cart.id == cart_id).values(voucher_code=None).execution_options(synchronize_session=False)
    )


def count_items(user_id: int | None, token: str | None) -> int:
    """Units in the cart that are still for sale (the header's badge): one query, no pricing."""
    cart = get_cart(user_id, token)
    if cart is None:
        return 0
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(CartLine.quantity), 0))
            .join(Variant, Variant.id == CartLine.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(CartLine.cart_id == cart.id, Product.listed.is_(True))
        )
        or 0
    )


# --- the voucher on a cart ----------------------------------------------------------


def apply_voucher(user_id: int | None, token: str | None, code: str, now=None) -> "CartView":
    """Put a voucher code on the cart after checking it against the cart as it
    is now (one per order: a new code replaces the old). Raises InvalidVoucher."""
    cart = get_cart(user_id, token)
    if cart is None or not cart.lines:
        raise ShopError(_("Giỏ hàng đang trống."), code="empty_cart")
    if not vouchers.normalize_code(code):
        raise vouchers.InvalidVoucher(_("Nhập mã giảm giá."), code="voucher_missing")
    voucher = vouchers.find(code)
    view = view_cart(cart, now=now, with_voucher=False)
    quoted = vouchers.quote(voucher, view.priced_lines(), user_id=user_id, now=now)
    cart.voucher_code = quoted.code
    db.session.commit()
    return view_cart(cart, now=now)


def remove_voucher(user_id: int | None, token: str | None) -> None:
    cart = get_cart(user_id, token)
    if cart is not None and cart.voucher_code:
        cart.voucher_code = None
        db.session.commit()


# --- reading the cart --------------------------------------------------------


@dataclass
class LineView:
    variant_id: int
    sku: str
    product_name: str
    product_slug: str
    variant_label: str
    image: str | None
    unit_price: int  # the normal price
    quantity: int
    stock: int
    weight_grams: int
    facts: VariantFacts
    offer: Offer | None = None
    voucher_discount: int = 0  # this line's share of the voucher

    @property
    def promo_units(self) -> int:
        return rules.promo_units(self.quantity, self.offer.deal) if self.offer else 0

    @property
    def promo_discount(self) -> int:
        return self.promo_units * self.offer.unit_discount if self.offer else 0

    @property
    def original_total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def line_total(self) -> int:
        """What the line costs after its promotion (before the voucher)."""
        return self.original_total - self.promo_discount

    @property
    def problem(self) -> str | None:
        if self.stock <= 0:
            return "sold_out"
        if self.quantity > self.stock:
            return "too_many"
        return None


@dataclass
class ProducerGroup:
    producer_id: int
    producer_name: str
    producer_slug: str
    province_id: int
    region: str
    free_threshold: int | None
    lines: list[LineView] = field(default_factory=list)
    shipping_fee: int | None = None
    zone: str | None = None  # known once the delivery province is

    @property
    def delivery_days(self) -> tuple[int, int] | None:
        return delivery_days(self.zone)

    @property
    def subtotal(self) -> int:
        """After the line promotions, before the voucher (free shipping counts this)."""
        return sum(line.line_total for line in self.lines)

    @property
    def voucher_discount(self) -> int:
        return sum(line.voucher_discount for line in self.lines)

    @property
    def original_subtotal(self) -> int:
        return sum(line.original_total for line in self.lines)

    @property
    def promo_savings(self) -> int:
        return sum(line.promo_discount for line in self.lines)

    @property
    def weight_grams(self) -> int:
        return sum(line.weight_grams * line.quantity for line in self.lines)

    @property
    def missing_for_free_shipping(self) -> int | None:
        if self.free_threshold is None or self.subtotal >= self.free_threshold:
            return None
        return self.free_threshold - self.subtotal


@dataclass
class CartView:
    cart_id: int | None
    groups: list[ProducerGroup]
    voucher: vouchers.VoucherQuote | None = None
    voucher_code: str | None = None  # the code on the cart, also when it no longer applies
    voucher_error: str | None = None

    @property
    def count(self) -> int:
        return sum(line.quantity for g in self.groups for line in g.lines)

    @property
    def lines(self) -> list[LineView]:
        return [line for g in self.groups for line in g.lines]

    @property
    def original_subtotal(self) -> int:
        return sum(line.original_total for line in self.lines)

    @property
    def promo_savings(self) -> int:
        return sum(line.promo_discount for line in self.lines)

    @property
    def subtotal(self) -> int:
        """After the line promotions, before the voucher."""
        return sum(g.subtotal for g in self.groups)

    @property
    def voucher_discount(self) -> int:
        return self.voucher.discount if self.voucher else 0

    @property
    def savings(self) -> int:
        return self.promo_savings + self.voucher_discount

    @property
    def shipping_total(self) -> int | None:
        fees = [g.shipping_fee for g in self.groups if g.shipping_fee is not None]
        return sum(fees) if len(fees) == len(self.groups) else None

    @property
    def total(self) -> int:
        """Never below the shipping fee: the voucher only takes from the goods."""
        return self.subtotal - self.voucher_discount + (self.shipping_total or 0)

    @property
    def has_problems(self) -> bool:
        return any(line.problem for line in self.lines)

    @property
    def variant_ids(self) -> list[int]:
        return [line.variant_id for line in self.lines]

    def priced_lines(self) -> list[vouchers.PricedLine]:
        return [vouchers.PricedLine(line.facts, line.line_total) for line in self.lines]


def view_cart(
    cart: Cart | None,
    dest_province_id: int | None = None,
    *,
    now=None,
    email: str | None = None,
    with_voucher: bool = True,
) -> CartView:
    """The cart grouped by producer, priced from the catalog and the promotions
    running at `now` (default: this instant), with the cart's voucher if it
    still applies; with a destination, each producer's shipping fee too."""
    if cart is None:
        return CartView(None, [])
    now = as_utc(now) or utcnow()
    day = today_vn(now)
    rows = db.session.execute(
        select(CartLine, Variant, Product, Producer, Province)
        .join(Variant, Variant.id == CartLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .join(Province, Province.id == Producer.province_id)
        .where(CartLine.cart_id == cart.id, Product.listed.is_(True))
        .order_by(Producer.name, CartLine.id)
    ).all()
    groups: dict[int, ProducerGroup] = {}
    for line, variant, product, producer, province in rows:
        group = groups.setdefault(
            producer.id,
            ProducerGroup(
                producer.id,
                producer.name,
                producer.slug,
                province.id,
                province.region,
                producer.free_shipping_threshold,
            ),
        )
        group.lines.append(
            LineView(
                variant.id,
                variant.sku,
                product.name,
                product.slug,
                variant.label,
                product.cover_image,
                variant.price,
                line.quantity,
                variant.stock,
                variant.weight_grams,
                facts=facts_of(variant, product, day),
            )
        )
    view = CartView(cart.id, list(groups.values()))
    offers = best_offers((line.facts for line in view.lines), now)
    for line in view.lines:
        line.offer = offers.get(line.variant_id)
    if with_voucher and cart.voucher_code and view.lines:
        view.voucher_code = cart.voucher_code
        try:
            quoted = vouchers.quote(
                vouchers.find(cart.voucher_code), view.priced_lines(), user_id=cart.user_id, email=email, now=now
            )
        except vouchers.InvalidVoucher as err:
            view.voucher_error = err.message
        else:
            view.voucher = quoted
            for line, share in zip(view.lines, quoted.shares, strict=True):
                line.voucher_discount = share
    if dest_province_id is not None:
        dest = db.session.get_one(Province, dest_province_id)
        rates = current_rates()
        for group in view.groups:
            zone = zone_between(group.province_id, group.region, dest.id, dest.region)
            group.shipping_fee = shipping_fee(zone, group.weight_grams, group.subtotal, rates, group.free_threshold)
            group.zone = zone
    return view
