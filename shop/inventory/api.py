"""The producer API (/api/v1/producer): a producer's own software keeps stock,
prices and shipping in step with Chợ OCOP, authenticated by a bearer token.

Every answer is JSON; errors are {"error": {"code", "message"}}. POST and PUT
accept an Idempotency-Key header: the first answer is stored, and a retry with
the same key and the same request gets it back without anything being applied
again. Described in /api/v1/openapi.json."""

import functools
import hashlib
import re

from flask import Blueprint, Response, current_app, g, jsonify, request

from shop.errors import ShopError, json_error
from shop.extensions import limiter
from shop.formatting import as_utc, utcnow
from shop.inputs import parse_int
from shop.inventory import services, tokens
from shop.orders import services as orders
from shop.orders.models import SUB_ORDER_STATUSES, SubOrder

bp = Blueprint("producer_api", __name__, url_prefix="/api/v1/producer")

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,120}")  # visible ASCII, as most clients generate (UUIDs)


def rate_limit() -> str:
    return current_app.config.get("PRODUCER_API_RATE_LIMIT", "120 per minute")


def rate_key() -> str:
    """Count requests per token (by its hash, so the secret is never a storage key);
    requests without one count per address."""
    raw = tokens.bearer_token(request.headers.get("Authorization"))
    if raw:
        return "producer-token:" + tokens.hash_token(raw)
    return "producer-addr:" + (request.remote_addr or "")


limiter.limit(rate_limit, key_func=rate_key)(bp)


def _unauthorized(message: str, token_sent: bool):
    response, status = json_error(401, "unauthorized", message)
    challenge = 'Bearer realm="producer-api"'
    if token_sent:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response, status


@bp.before_request
def authenticate():
    raw = tokens.bearer_token(request.headers.get("Authorization"))
    if raw is None:
        return _unauthorized("Send your API token as 'Authorization: Bearer <token>'.", token_sent=False)
    caller = tokens.authenticate(raw)
    if caller is None:
        return _unauthorized("The token is unknown, revoked or expired.", token_sent=True)
    g.api_caller = caller


def _producer_id() -> int:
    return g.api_caller.producer_id


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ShopError("The body must be a JSON object.", code="invalid_json")
    return data


MAX_PAGE = 100_000  # 100,000 pages of at most 100 rows: every page there is, and no offset overflow


def _page() -> tuple[int, int]:
    def number(name: str, default: int, top: int) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        value = parse_int(raw, minimum=1, maximum=top)
        if value is None or not raw.isdigit():
            raise ShopError(f"'{name}' must be a whole number from 1 and at most {top}.", code="invalid_parameter")
        return value

    return number("page", 1, MAX_PAGE), number("per_page", 20, current_app.config["API_MAX_PER_PAGE"])


def idempotent(view):
    """Answer a repeated Idempotency-Key with the stored response (see module docstring)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.fullmatch(key):
            return json_error(400, "invalid_idempotency_key", "Idempotency-Key must be 1–120 visible ASCII characters.")
        fingerprint = hashlib.sha256(
            request.method.encode() + b"\n" + request.path.encode() + b"\n" + request.get_data()
        ).hexdigest()
        claim = services.claim_key(g.api_caller.token_id, key, fingerprint, utcnow())
        if claim.state == "reused":
            return json_error(409, "idempotency_key_reused", "This Idempotency-Key was used for a different request.")
        if claim.state == "in_progress":
            return json_error(409, "idempotency_key_in_progress", "A request with this Idempotency-Key is running.")
        if claim.state == "replay":
            replay = Response(claim.body, status=claim.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        key_id = claim.key_id
        assert key_id is not None  # a "new" claim always names the row it took
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except ShopError as err:
            response, _ = json_error(err.status, err.code, err.message)
            response.status_code = err.status
        except Exception:
            services.release_key(key_id)
            raise
        if response.status_code >= 500:
            services.release_key(key_id)
        else:
            services.finish_key(key_id, response.status_code, response.get_data(as_text=True))
        return response

    return wrapper


# --- products and stock ---------------------------------------------------------------


@bp.get("/products")
def products():
    page, per_page = _page()
    items, holds, total = services.producer_products(_producer_id(), page, per_page)
    return jsonify(
        {
            "items": [
                {
                    "slug": p.slug,
                    "name": p.name,
                    "status": p.status,
                    "variants": [
                        {
                            "sku": v.sku,
                            "label": v.label,
                            "price": v.price,
                            "currency": "VND",
                            "on_hand": v.stock + holds.get(v.id, services.Holds()).held,
                            "held": holds.get(v.id, services.Holds()).held,
                            "available": v.stock,
                        }
                        for v in p.variants
                    ],
                }
                for p in items
            ],
            "total": total,
            "page": page,
            "per_page": per_page,
        }
    )


@bp.put("/stock/<sku>")
@idempotent
def set_stock(sku: str):
    data = _body()
    if "quantity" not in data:
        return json_error(400, "bad_quantity", 'Send {"quantity": N} with N a whole number ≥ 0.')
    result = services.set_stock(_producer_id(), sku, data["quantity"], data.get("price"))
    return jsonify(result.as_json())


@bp.post("/stock")
@idempotent
def update_stock():
    items = _body().get("items")
    if not isinstance(items, list) or not items:
        return json_error(400, "invalid_items", 'Send {"items": [{"sku": …, "quantity": …}, …]}.')
    results = services.update_stock(_producer_id(), items)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("applied", "unchanged", "rejected", "unknown")}
    return jsonify({"results": [r.as_json() for r in results], "counts": counts})


# --- orders -------------------------------------------------------------------------------


def sub_order_json(sub: SubOrder) -> dict:
    order = sub.order
    out = {
        "id": sub.id,
        "order_number": order.number,
        "status": sub.status,
        "payment_method": order.payment_method,
        "paid": order.paid_at is not None,
        "created_at": as_utc(order.created_at).isoformat().replace("+00:00", "Z"),  # SQLite keeps no zone
        "subtotal": sub.subtotal,
        "shipping_fee": sub.shipping_fee,
        "total": sub.total,
        "currency": "VND",
        "weight_grams": sub.weight_grams,
        "carrier": sub.carrier or None,
        "tracking_number": sub.tracking_number or None,
        "lines": [
            {
                "sku": line.sku,
                "product_name": line.product_name,
                "variant_label": line.variant_label,
                "quantity": line.quantity,
                "cancelled_quantity": line.cancelled_quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "promo_discount": line.promo_discount,
                "voucher_discount": line.voucher_discount,
                "marketplace_funded_discount": line.operator_funded,
                "discount_reason": line.discount_reason or None,
                "commission_rate_bp": line.commission_bp,
                "line_total": line.line_total,
            }
            for line in sub.lines
        ],
    }
    # The company invoice the shopper asked for, if any ("Xuất hóa đơn công ty").
    out["invoice"] = (
        {
            "company": order.invoice_company,
            "tax_code": order.invoice_tax_code,
            "address": order.invoice_address,
            "email": order.invoice_email,
        }
        if order.invoice_company
        else None
    )
    # The parcel's address only while there is a parcel to send or sent.
    if sub.status != "cancelled":
        out["ship_to"] = {"recipient": order.recipient, "phone": order.phone, "address": order.address_text}
    return out


@bp.get("/orders")
def list_orders():
    status = request.args.get("status")
    if status is not None and status not in SUB_ORDER_STATUSES:
        return json_error(
            400, "invalid_parameter", "'status' must be one of " + ", ".join(SUB_ORDER_STATUSES), parameter="status"
        )
    page, per_page = _page()
    subs, total = services.producer_sub_orders(_producer_id(), status, page, per_page)
    return jsonify({"items": [sub_order_json(s) for s in subs], "total": total, "page": page, "per_page": per_page})


@bp.post("/orders/<int:sub_order_id>/confirm")
@idempotent
def confirm_order(sub_order_id: int):
    sub = orders.confirm_sub_order(sub_order_id, producer_ids=[_producer_id()])
    return jsonify(sub_order_json(sub))


@bp.post("/orders/<int:sub_order_id>/ship")
@idempotent
def ship_order(sub_order_id: int):
    data = _body()
    carrier, tracking = data.get("carrier"), data.get("tracking_number")
    if not isinstance(carrier, str) or not isinstance(tracking, str):
        return json_error(400, "missing_tracking", 'Send {"carrier": "…", "tracking_number": "…"}.')
    sub = orders.ship_sub_order(sub_order_id, carrier, tracking, producer_ids=[_producer_id()])
    return jsonify(sub_order_json(sub))
