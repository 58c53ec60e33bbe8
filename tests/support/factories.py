"""Builders for test data. Each returns committed rows with their read
columns refreshed, as the real services leave them."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import count

from sqlalchemy import select

from shop.catalog.models import Category, Product, Variant
from shop.catalog.services import commit_catalog_change
from shop.extensions import db
from shop.formatting import today_vn
from shop.places.models import Province
from shop.producers.models import Certificate, Producer
from shop.producers.rules import certificate_expiry
from shop.text import slugify

_seq = count(1)


def province(name: str = "Bắc Ninh") -> Province:
    return db.session.scalars(select(Province).where(Province.name == name)).one()


def category(slug: str = "che-bien-tu-gao-ngu-coc") -> Category:
    return db.session.scalars(select(Category).where(Category.slug == slug)).one()


def make_producer(
    name: str | None = None,
    *,
    owner_type: str = "cooperative",
    province_name: str = "Bắc Ninh",
    status: str = "approved",
    story: str = "",
) -> Producer:
    name = name or f"HTX thử nghiệm {next(_seq)}"
    producer = Producer(
        slug=slugify(name),
        name=name,
        owner_type=owner_type,
        province=province(province_name),
        status=status,
        story=story,
        ward="xã Thử",
    )
    db.session.add(producer)
    db.session.commit()
    return producer


def make_product(
    name: str,
    *,
    producer: Producer | None = None,
    prices=(100_000,),
    stock: int | tuple = 10,
    stars: int | None = 3,  # OCOP-only: a product is on sale with a verified, unexpired certificate
    cert_state: str = "verified",
    decided: date | None = None,
    category_slug: str = "che-bien-tu-gao-ngu-coc",
    province_name: str | None = None,
    status: str = "published",
    description: str = "",
    created_days_ago: int = 0,
) -> Product:
    producer = producer or make_producer()
    n = next(_seq)
    product = Product(
        slug=f"{slugify(name)}-{n}",
        name=name,
        description=description,
        status=status,
        producer=producer,
        category=category(category_slug),
        province=province(province_name or producer.province.name),
    )
    if created_days_ago:
        from shop.formatting import utcnow

        product.created_at = utcnow() - timedelta(days=created_days_ago)
    stocks = stock if isinstance(stock, tuple) else (stock,) * len(prices)
    for i, (price, qty) in enumerate(zip(prices, stocks, strict=True)):
        product.variants.append(
            Variant(sku=f"T{n}-{i}", label=f"Gói {i + 1}", price=price, weight_grams=500, stock=qty, position=i)
        )
    db.session.add(product)
    if stars:
        decided = decided or today_vn() - timedelta(days=100)
        db.session.add(
            Certificate(
                producer=producer,
                product=product,
                stars=stars,
                decision_number=f"{n}/QĐ-UBND",
                decision_date=decided,
                issuing_level="central" if stars == 5 else "province",
                issuing_province=producer.province,
                expires_on=certificate_expiry(decided),
                state=cert_state,
            )
        )
    db.session.flush()
    commit_catalog_change([product.id])
    return product


def delivery_to(province_name: str = "Hà Nội", email: str = "khach@example.vn"):
    """A delivery address in a real ward of the province."""
    from shop.checkout.services import Delivery
    from shop.places.models import Ward

    prov = province(province_name)
    ward = db.session.scalars(select(Ward).where(Ward.province_id == prov.id).order_by(Ward.code)).first()
    return Delivery(
        email=email,
        recipient="Nguyễn Thị Lan",
        phone="0912345678",
        province_id=prov.id,
        ward_id=ward.id,
        street="12 Hàng Bạc",
    )


def cart_with(*items: tuple[Variant, int], user_id: int | None = None) -> int:
    """A cart holding these (variant, quantity) pairs; returns its id."""
    from shop.cart.services import add_item, get_cart

    token = None
    for variant, quantity in items:
        token, _ = add_item(user_id, token, variant.id, quantity)
    return get_cart(user_id, token).id


@dataclass(frozen=True)
class Goods:
    """One product a seller lists, with one variant."""

    name: str
    price: int
    stock: int
    stars: int = 3
    category_slug: str = "che-bien-tu-gao-ngu-coc"


@dataclass(frozen=True)
class Seller:
    """A producer to make, what it sells and (when `owner` is an e-mail) its owner's account."""

    name: str
    province: str
    goods: tuple[Goods, ...]
    owner_type: str = "cooperative"
    owner: str | None = None
    owner_name: str = ""

    def stocked(self, stock: int) -> "Seller":
        """The same seller with `stock` of each of its goods."""
        return replace(self, goods=tuple(replace(g, stock=stock) for g in self.goods))


BEES = Seller(
    "HTX ong Phong Thổ",
    "Tuyên Quang",
    (Goods("Mật ong hoa rừng", 95_000, 10), Goods("Phấn hoa", 150_000, 4)),
    owner="ong@example.vn",
    owner_name="Chị Hoa",
)
TEAS = Seller(
    "HTX chè Tân Cương",
    "Thái Nguyên",
    (Goods("Trà Tân Cương", 120_000, 10),),
    owner="che@example.vn",
    owner_name="Anh Chè",
)

# The checkout's pair: a tea from Thái Nguyên and, from Hà Nội, a fish cake with 3 left.
HUE_DUONG = Seller("Cơ sở Huệ Dương", "Hà Nội", (Goods("Chả cá thát lát", 180_000, 3),), owner_type="household")


@dataclass
class TwoProducerShop:
    """Ids of what `two_producer_shop` made: "mine" (the producer the tests usually sign in
    as) and "other", the first variant and the product of each of their goods in the order
    listed, and the operator's user id when one was asked for."""

    mine: int
    other: int
    mine_variants: list[int]
    mine_products: list[int]
    other_variants: list[int]
    other_products: list[int]
    operator: int | None = None

    # The default sellers' goods by name: BEES sells honey then pollen, TEAS sells tea.
    @property
    def honey(self) -> int:
        return self.mine_variants[0]

    @property
    def pollen(self) -> int:
        return self.mine_variants[1]

    @property
    def tea(self) -> int:
        return self.other_variants[0]

    @property
    def honey_product(self) -> int:
        return self.mine_products[0]

    @property
    def tea_product(self) -> int:
        return self.other_products[0]


def two_producer_shop(
    mine: Seller = BEES, other: Seller = TEAS, *, owners: bool = True, operator: bool = False
) -> TwoProducerShop:
    """Two approved producers selling certified goods, made in this order (mine first), with
    their owners' producer accounts (`owners`) and an operator, vanhanh@example.vn (`operator`);
    every account uses tests.support.auth.PASSWORD."""
    from shop.accounts.services import create_user
    from tests.support.auth import PASSWORD

    made = []
    for seller in (mine, other):
        producer = make_producer(seller.name, province_name=seller.province, owner_type=seller.owner_type)
        products = [
            make_product(
                g.name,
                producer=producer,
                prices=(g.price,),
                stock=g.stock,
                stars=g.stars,
                category_slug=g.category_slug,
            )
            for g in seller.goods
        ]
        made.append((producer, products))
    if owners:
        for seller, (producer, _) in zip((mine, other), made, strict=True):
            if seller.owner:
                create_user(seller.owner, "producer", PASSWORD, producer_slug=producer.slug, name=seller.owner_name)
    operator_id = create_user("vanhanh@example.vn", "operator", PASSWORD, name="Chị Vận Hành").id if operator else None
    (mine_producer, mine_goods), (other_producer, other_goods) = made
    return TwoProducerShop(
        mine=mine_producer.id,
        other=other_producer.id,
        mine_variants=[p.variants[0].id for p in mine_goods],
        mine_products=[p.id for p in mine_goods],
        other_variants=[p.variants[0].id for p in other_goods],
        other_products=[p.id for p in other_goods],
        operator=operator_id,
    )
