"""No 500 on odd values (issue 10 item 8), on SQLite and on PostgreSQL: every
rule of the app's URL map is called with integers past 32 and 64 bits in its
path, query, form and JSON, and with NUL bytes in each, as a visitor, as a
signed-in operator who also owns a producer, and through the producer API with
a token. Nothing may answer 5xx."""

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from shop.accounts.models import ProducerMember
from shop.accounts.services import create_user
from shop.extensions import db
from shop.inventory import tokens
from tests.support.factories import make_producer, make_product

PASSWORD = "mat-khau-an-toan-1"
HUGE = ["2147483648", "9223372036854775808", "772749410969915553218560", "-9223372036854775809"]
NUL = "a\x00b"
ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# Names that forms, query strings and JSON bodies of this app read.
FIELDS = [
    "page",
    "per_page",
    "variant_id",
    "quantity",
    "product_id",
    "producer_id",
    "province_id",
    "ward_id",
    "address_id",
    "order_id",
    "price",
    "stock",
    "on_hand",
    "stars",
    "min_price",
    "max_price",
    "category",
    "province",
    "group",
    "sort",
    "q",
    "next",
    "lang",
    "email",
    "password",
    "name",
    "phone",
    "recipient",
    "street",
    "code",
    "reason",
    "amount",
    "tracking_number",
    "carrier",
    "status",
    "from",
    "to",
    "days",
    "actor",
    "target",
    "compare_at_price",
    "weight_grams",
    "threshold",
    "limit",
    "percent",
    "value",
    "cap",
    "minimum",
    "usage_limit",
    "per_customer_limit",
    "san-pham",
    "producer",
]


class FreshContextClient(FlaskClient):
    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@dataclass
class Callers:
    visitor: FlaskClient
    staff: FlaskClient  # an operator who also owns a producer
    token: str


@pytest.fixture
def callers(app) -> Callers:
    app.test_client_class = FreshContextClient
    producer = make_producer("HTX ong Phong Thổ")
    make_product("Mật ong bạc hà", producer=producer, prices=(150_000,), stock=5)
    operator = create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận Hành")
    db.session.add(ProducerMember(user_id=operator.id, producer_id=producer.id, role="owner"))
    db.session.commit()
    _, token = tokens.create_token(producer.id, "Kho")
    staff = app.test_client()
    signed_in = staff.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": PASSWORD})
    assert signed_in.status_code == 302
    return Callers(app.test_client(), staff, token)


def paths(rule, odd: str | None) -> list[str]:
    """The rule's path with every argument odd (ints huge, strings with a NUL), or
    with plain values (1, "x") when `odd` is None."""

    def fill(match, value_for_int: str, value_for_str: str) -> str:
        converter = match.group(1) or "default"
        return value_for_int if converter == "int" else quote(value_for_str, safe="")

    if odd is None:
        return [ARGUMENT.sub(lambda m: fill(m, "1", "x"), rule.rule)]
    return [ARGUMENT.sub(lambda m, v=value: fill(m, v, NUL), rule.rule) for value in HUGE[:2]]


def odd_data(value: str) -> dict:
    return dict.fromkeys(FIELDS, value)


def odd_json(value: str) -> dict:
    number = int(value) if value.lstrip("-").isdigit() else value
    body: dict = dict.fromkeys(FIELDS, number)
    body["items"] = [{"sku": NUL, "on_hand": number, "stock": number, "variant_id": number}]
    body["sku"] = NUL if number == value else "x"
    return body


def test_no_rule_of_the_url_map_answers_5xx_to_odd_values(app, callers):
    failures: list[str] = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 100  # the whole app, not a corner of it

    def check(client, method: str, url: str, **kwargs) -> None:
        response = client.open(url, method=method, **kwargs)
        # /healthz answers 503 while the test setup has no Redis or worker: that is its job.
        if response.status_code >= 500 and not (response.status_code == 503 and url.startswith("/healthz")):
            failures.append(f"{method} {url} {sorted(kwargs)} -> {response.status_code}")
        response.close()

    for rule in rules:
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        api = rule.rule.startswith("/api/v1/producer")
        clients = [(callers.visitor, {})]
        clients.append((callers.visitor, {"Authorization": f"Bearer {callers.token}"}) if api else (callers.staff, {}))
        for client, headers in clients:
            for method in methods:
                for url in paths(rule, odd="yes"):
                    check(client, method, url, headers=headers)
                (plain,) = paths(rule, odd=None)
                for value in (*HUGE, NUL):
                    query = "&".join(f"{quote(name)}={quote(value, safe='')}" for name in FIELDS)
                    if method == "GET":
                        check(client, "GET", f"{plain}?{query}", headers=headers)
                    else:
                        check(client, method, plain, data=odd_data(value), headers=headers)
                        check(client, method, plain, json=odd_json(value), headers=headers)
    assert failures == [], "\n".join(failures)


def test_the_reported_cases_get_a_clear_4xx(app, callers):
    api = {"Authorization": f"Bearer {callers.token}"}
    visitor = callers.visitor
    assert visitor.get("/api/v1/producer/products?page=772749410969915553218560", headers=api).status_code == 400
    assert visitor.post("/api/v1/producer/orders/2147483648/confirm", headers=api).status_code == 404
    assert visitor.get("/san-pham/a%00b").status_code == 400
    assert visitor.post("/gio-hang/them", data={"variant_id": "99999999999999999999"}).status_code == 303
    assert visitor.post("/thanh-toan", data={"recipient": "Lan\x00"}).status_code == 400
    assert visitor.post("/api/v1/producer/stock", json={"items": [{"sku": "a\x00"}]}, headers=api).status_code == 400
