import pytest
from sqlalchemy import func, select

from shop.catalog.models import Product, Variant
from shop.catalog.reference import reference
from shop.extensions import db
from shop.producers.models import OWNER_TYPES, Certificate, Producer


@pytest.fixture
def backend():
    return "sqlite"


def test_seed_demo_loads_a_catalog_worth_browsing_and_is_idempotent(app, runner):
    result = runner.invoke(args=["seed-demo", "--no-images"])
    assert result.exit_code == 0, result.output
    products = db.session.scalar(select(func.count(Product.id)))
    assert products >= 40
    assert db.session.scalar(select(func.count(Producer.id))) >= 15
    assert set(db.session.scalars(select(Producer.owner_type).distinct())) == set(OWNER_TYPES)
    assert db.session.scalar(select(func.count(func.distinct(Producer.province_id)))) >= 10
    ref = reference()
    groups_used = {ref.group_of(cid).slug for cid in db.session.scalars(select(Product.category_id))}
    assert len(groups_used) == 6
    assert db.session.scalar(select(func.count(Variant.id))) >= 2 * products
    assert "Bánh đa Kế" in set(db.session.scalars(select(Product.name)))
    # one application waits for an operator, with its certificate's decision document
    (pending,) = db.session.scalars(select(Producer).where(Producer.status == "pending")).all()
    (cert,) = db.session.scalars(select(Certificate).where(Certificate.producer_id == pending.id)).all()
    assert cert.state == "pending" and cert.document_path

    again = runner.invoke(args=["seed-demo", "--no-images"])
    assert again.exit_code == 0
    assert db.session.scalar(select(func.count(Product.id))) == products
    assert db.session.scalar(select(func.count(Producer.id)).where(Producer.status == "pending")) == 1


def test_seed_demo_if_empty_leaves_an_existing_catalog_alone(app, runner):
    runner.invoke(args=["seed-demo", "--no-images"])
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has products" in result.output


def test_seed_bulk_makes_searchable_published_products(app, runner, client):
    result = runner.invoke(args=["seed-bulk", "--products", "300"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Product.id)).where(Product.status == "published")) == 300
    body = client.get("/api/v1/products?q=mat ong&per_page=5").get_json()
    assert body["total"] > 0 and all("Mật ong" in i["name"] for i in body["items"])


def test_health_reports_database_and_broker(app, client, redis_server):
    app.config["REDIS_URL"] = redis_server.url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"]["ok"] and response.get_json()["broker"]["ok"]


def test_health_is_503_when_the_broker_does_not_answer(app, client):
    from tests.support.servers import free_port

    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["broker"]["ok"] is False and response.get_json()["database"]["ok"] is True
