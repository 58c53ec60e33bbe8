"""The producer API (/api/v1/producer) in the OpenAPI document: its paths and schemas."""

from shop.api.openapi_blocks import ERROR, list_schema, ok_response, paging_params, param
from shop.inventory.api import MAX_PAGE as PRODUCER_MAX_PAGE

_REF = "#/components/schemas/"
PRODUCER_SECURITY: list[dict[str, list[str]]] = [{"producerToken": []}]
IDEMPOTENCY_KEY = param(
    "Idempotency-Key",
    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,120}$"},
    "Optional; 1–120 visible ASCII characters (a UUID, say), else 400 invalid_idempotency_key. "
    "The first answer to a key is stored for 24 hours; a retry with the same key and the same "
    "method, path and body returns it (header Idempotent-Replayed: true) without applying anything again. "
    "The same key with a different request is refused (409 idempotency_key_reused); while the first request "
    "is still running, 409 idempotency_key_in_progress.",
    where="header",
)
AUTH_ERRORS = {
    "401": {
        "description": "Missing, unknown, revoked or expired token (with a WWW-Authenticate header)",
        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
    },
    "429": {
        "description": "Too many requests for this token; see the Retry-After header",
        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
    },
}
STOCK_RULE = (
    "Quantities are stock ON HAND (counted before shipping). What unshipped orders hold is subtracted: "
    "available = max(0, on_hand − held). A quantity below the units sold but not yet shipped "
    "(paid card orders and cash-on-delivery orders) is refused for that SKU (reason_code sold_not_shipped); "
    "between that and everything held, card orders still awaiting payment keep their units, available "
    "becomes 0 and reason_code short_reserved tells how many units they would lack."
)


def _json_body(ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": _REF + ref}}}}


def _producer_op(summary: str, op_id: str, responses: dict, *, body: str | None = None, params=(), write=False):
    op = {
        "summary": summary,
        "operationId": op_id,
        "tags": ["producer"],
        "security": PRODUCER_SECURITY,
        "parameters": [*params, *([IDEMPOTENCY_KEY] if write else [])],
        "responses": {**({"400": ERROR} if write else {}), **responses, **AUTH_ERRORS},
    }
    if body:
        op["requestBody"] = _json_body(body)
    return op


def producer_paths() -> dict:
    sku = param(
        "sku",
        {"type": "string", "pattern": "^[^\\x00-\\x20\\x7f=+\\-@][^\\x00-\\x1f\\x7f]{0,63}$"},
        "One of your SKUs.",
        where="path",
        required=True,
    )
    paging = paging_params(PRODUCER_MAX_PAGE)
    sub_order_id = param(
        "sub_order_id", {"type": "integer"}, "Your sub-order's id (from /producer/orders).", where="path", required=True
    )
    return {
        "/producer/products": {
            "get": _producer_op(
                "Your products and variants with stock on hand, held and available",
                "producerListProducts",
                {"200": ok_response(list_schema("ProducerProduct")), "400": ERROR},
                params=paging,
            )
        },
        "/producer/stock/{sku}": {
            "put": _producer_op(
                "Set one SKU's stock on hand (and optionally its price)",
                "producerSetStock",
                {
                    "200": ok_response({"$ref": _REF + "StockResult"}, "Applied or unchanged"),
                    "400": ERROR,
                    "404": ERROR,
                    "409": {
                        "description": "Below the units sold but not shipped (sold_not_shipped), "
                        "or an Idempotency-Key conflict",
                        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
                    },
                },
                body="StockSet",
                params=[sku],
                write=True,
            )
            | {"description": STOCK_RULE + " Another producer's SKU is a 404."},
        },
        "/producer/stock": {
            "post": _producer_op(
                "Set stock on hand (and prices) of up to 1,000 SKUs in one transaction",
                "producerUpdateStock",
                {
                    "200": ok_response({"$ref": _REF + "StockBatchResult"}, "One result per item, in the items' order"),
                    "400": ERROR,
                    "413": {
                        "description": "More than 1,000 items (too_many_items)",
                        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
                    },
                    "409": ERROR,
                },
                body="StockBatch",
                write=True,
            )
            | {
                "description": STOCK_RULE
                + " Items whose SKU is unknown or not yours are reported as unknown; refused items are "
                "reported as rejected; every other item is applied, all in one transaction."
            },
        },
        "/producer/orders": {
            "get": _producer_op(
                "Your sub-orders with their lines, newest first",
                "producerListOrders",
                {"200": ok_response(list_schema("ProducerSubOrder")), "400": ERROR},
                params=[
                    param(
                        "status",
                        {"type": "string", "enum": ["pending", "confirmed", "shipped", "delivered", "cancelled"]},
                        "Only sub-orders in this state.",
                    ),
                    *paging,
                ],
            )
        },
        "/producer/orders/{sub_order_id}/confirm": {
            "post": _producer_op(
                "Accept a pending sub-order",
                "producerConfirmOrder",
                {"200": ok_response({"$ref": _REF + "ProducerSubOrder"}), "404": ERROR, "409": ERROR},
                params=[sub_order_id],
                write=True,
            )
        },
        "/producer/orders/{sub_order_id}/ship": {
            "post": _producer_op(
                "Hand a confirmed sub-order to the carrier",
                "producerShipOrder",
                {"200": ok_response({"$ref": _REF + "ProducerSubOrder"}), "400": ERROR, "404": ERROR, "409": ERROR},
                body="Shipment",
                params=[sub_order_id],
                write=True,
            )
        },
    }


_MONEY = {"type": "integer", "description": "Whole đồng"}
_REASON = {
    "reason_code": {
        "type": "string",
        "enum": [
            "sold_not_shipped",
            "short_reserved",
            "bad_quantity",
            "negative_quantity",
            "quantity_too_large",
            "bad_price",
            "price_too_large",
            "missing_sku",
            "bad_sku",
            "formula",
            "nothing_to_change",
            "bad_item",
            "duplicate_sku",
            "unknown_sku",
            "other_producer",
        ],
        "description": "Why an item was rejected or unknown; short_reserved is a warning on an applied item",
    },
    "reason": {"type": "string", "description": "The same, in Vietnamese, for people"},
}
PRODUCER_SCHEMAS = {
    "ProducerProduct": {
        "type": "object",
        "required": ["slug", "name", "status", "variants"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": ["draft", "published", "archived"]},
            "variants": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sku", "label", "price", "on_hand", "held", "available"],
                    "properties": {
                        "sku": {"type": "string"},
                        "label": {"type": "string"},
                        "price": _MONEY,
                        "currency": {"type": "string", "enum": ["VND"]},
                        "on_hand": {"type": "integer", "description": "available + held"},
                        "held": {"type": "integer", "description": "Units in unshipped orders"},
                        "available": {"type": "integer", "description": "What shoppers can still buy"},
                    },
                },
            },
        },
    },
    "StockSet": {
        "type": "object",
        "required": ["quantity"],
        "properties": {
            "quantity": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "description": "Stock on hand"},
            "price": {"type": "integer", "minimum": 1, "maximum": 1_000_000_000, "description": "New price, đồng"},
        },
    },
    "StockBatch": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                # Each item is checked on its own and a bad one is reported (status rejected, with
                # its reason_code) while the others apply: the batch itself takes any item.
                "items": {
                    "description": "An object {sku, quantity, price}. An item that is not one, lacks a "
                    "sku, or has a quantity outside 0–10,000,000 or a price outside 1–1,000,000,000 is "
                    "answered as rejected with its reason_code; the other items still apply.",
                    "properties": {
                        "sku": {"description": "One of your SKUs (a string)"},
                        "quantity": {
                            "description": "Stock on hand, a whole number; may be left out when a price is given"
                        },
                        "price": {"description": "New price, whole đồng"},
                    },
                },
            }
        },
    },
    "StockResult": {
        "type": "object",
        "required": ["sku", "status", "available"],
        "properties": {
            "sku": {"type": "string"},
            "status": {"type": "string", "enum": ["applied", "unchanged", "rejected", "unknown"]},
            **_REASON,
            "available": {"type": "integer", "nullable": True, "description": "Null for unknown and malformed items"},
            "on_hand": {"type": "integer", "nullable": True},
            "held": {"type": "integer", "nullable": True},
            "price": {**_MONEY, "nullable": True},
        },
    },
    "StockBatchResult": {
        "type": "object",
        "required": ["results", "counts"],
        "properties": {
            "results": {"type": "array", "items": {"$ref": _REF + "StockResult"}},
            "counts": {
                "type": "object",
                "properties": {k: {"type": "integer"} for k in ("applied", "unchanged", "rejected", "unknown")},
            },
        },
    },
    "Shipment": {
        "type": "object",
        "required": ["carrier", "tracking_number"],
        "properties": {
            "carrier": {"type": "string", "maxLength": 80, "pattern": "\\S", "description": "Not blank"},
            "tracking_number": {"type": "string", "maxLength": 80, "pattern": "\\S", "description": "Not blank"},
        },
    },
    "ProducerSubOrder": {
        "type": "object",
        "required": ["id", "order_number", "status", "total", "lines"],
        "properties": {
            "id": {"type": "integer"},
            "order_number": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "confirmed", "shipped", "delivered", "cancelled"]},
            "payment_method": {"type": "string", "enum": ["card", "cod", "vietqr"]},
            "paid": {"type": "boolean", "description": "Money received (card); cash on delivery is collected later"},
            "created_at": {"type": "string", "format": "date-time"},
            "subtotal": _MONEY,
            "shipping_fee": _MONEY,
            "total": _MONEY,
            "currency": {"type": "string", "enum": ["VND"]},
            "weight_grams": {"type": "integer"},
            "carrier": {"type": "string", "nullable": True},
            "tracking_number": {"type": "string", "nullable": True},
            "invoice": {
                "type": "object",
                "nullable": True,
                "description": "Company invoice details the shopper gave at checkout, or null",
                "properties": {
                    "company": {"type": "string"},
                    "tax_code": {"type": "string", "description": "MST: 10 digits, or 10 + '-' + 3 for a branch"},
                    "address": {"type": "string"},
                    "email": {"type": "string"},
                },
            },
            "ship_to": {
                "type": "object",
                "description": "Left out for cancelled sub-orders",
                "properties": {
                    "recipient": {"type": "string"},
                    "phone": {"type": "string"},
                    "address": {"type": "string"},
                },
            },
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "sku": {"type": "string"},
                        "product_name": {"type": "string"},
                        "variant_label": {"type": "string"},
                        "quantity": {"type": "integer"},
                        "cancelled_quantity": {"type": "integer"},
                        "unit_price": _MONEY,
                        "discount": _MONEY,
                        "promo_discount": _MONEY,
                        "voucher_discount": _MONEY,
                        "marketplace_funded_discount": _MONEY,
                        "discount_reason": {"type": "string", "nullable": True},
                        "commission_rate_bp": {"type": "integer", "description": "frozen when the order was placed"},
                        "line_total": _MONEY,
                    },
                },
            },
        },
    },
}
