"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from shop.catalog.filters import MAX_PAGE, MAX_PRICE, MAX_QUERY_CHARS, SORTS
from shop.inventory.api import MAX_PAGE as PRODUCER_MAX_PAGE
from shop.producers.models import OWNER_TYPES


def _param(name: str, schema: dict, description: str, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def _list_of(ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/responses/Error"}


def _paging(max_page: int) -> list[dict]:
    return [
        _param(
            "page",
            {"type": "integer", "minimum": 1, "maximum": max_page, "default": 1},
            f"Page number, from 1 (at most {max_page:,}; past the last page the list is empty).",
        ),
        _param(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "Items per page (at most 100).",
        ),
    ]


PAGING = _paging(MAX_PAGE)
# Slugs as the API reads them: ASCII letters, digits and hyphens (case is ignored).
SLUG_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9-]{1,120}$"}
SLUG = _param(
    "slug", {"type": "string", "pattern": "^[^\\x00]+$"}, "The slug from a list item.", where="path", required=True
)


def openapi_document(province_slugs: list[str] | None = None) -> dict:
    """The document; `province_slugs` (reference data) lists the values /producers takes."""
    product_filters = [
        _param(
            "q",
            {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": "^[^\\x00]*$"},
            "Search words; tone marks and đ/Đ are ignored ('banh da' finds 'Bánh đa Kế').",
        ),
        _param(
            "stars",
            {"type": "integer", "minimum": 3, "maximum": 5},
            "Minimum OCOP stars of a verified, unexpired certificate.",
        ),
        _param("group", SLUG_SCHEMA, "Category slug (group, sub-group or set); includes its children."),
        _param("province", SLUG_SCHEMA, "Origin province slug (see /provinces)."),
        _param("owner_type", {"type": "string", "enum": list(OWNER_TYPES)}, "Producer's owner type."),
        _param("producer", SLUG_SCHEMA, "Producer slug."),
        _param(
            "price_min",
            {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
            "Lowest variant price at least this, in đồng.",
        ),
        _param(
            "price_max",
            {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
            "Lowest variant price at most this, in đồng.",
        ),
        _param("in_stock", {"type": "boolean"}, "Only products with a variant in stock."),
        _param(
            "sort",
            {"type": "string", "enum": list(SORTS), "default": "relevance"},
            "Relevance applies when q is given; otherwise newest first. best_selling: most units "
            "delivered to buyers first (sold_count; ties and unsold products newest first).",
        ),
        *PAGING,
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Chợ OCOP public catalog API",
            "version": "1",
            "description": "Read-only catalog of OCOP products (3–5 stars) for partner retailers and apps. "
            "Prices are integers of Vietnamese đồng (VND has no minor unit). "
            "Under /producer, producers keep their own stock, prices and shipments in step "
            "(bearer token; see the producerToken security scheme).",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/products": {
                "get": {
                    "summary": "List and search products",
                    "operationId": "listProducts",
                    "parameters": product_filters,
                    "responses": {"200": _ok(_list_of("ProductItem")), "400": ERROR},
                }
            },
            "/products/{slug}": {
                "get": {
                    "summary": "One product with variants, images and its certificate",
                    "operationId": "getProduct",
                    "parameters": [SLUG],
                    "responses": {"200": _ok({"$ref": "#/components/schemas/ProductDetail"}), "404": ERROR},
                }
            },
            "/producers": {
                "get": {
                    "summary": "List approved producers",
                    "operationId": "listProducers",
                    "parameters": [
                        _param(
                            "province",
                            {"type": "string", "enum": province_slugs} if province_slugs else SLUG_SCHEMA,
                            "Province slug (see /provinces); an unknown one is a 400.",
                        ),
                        _param("owner_type", {"type": "string", "enum": list(OWNER_TYPES)}, "Owner type."),
                        *PAGING,
                    ],
                    "responses": {"200": _ok(_list_of("ProducerItem")), "400": ERROR},
                }
            },
            "/producers/{slug}": {
                "get": {
                    "summary": "One producer with its valid certificates",
                    "operationId": "getProducer",
                    "parameters": [SLUG],
                    "responses": {"200": _ok({"$ref": "#/components/schemas/ProducerDetail"}), "404": ERROR},
                }
            },
            "/categories": {
                "get": {
                    "summary": "The OCOP category tree (groups, sub-groups, sets)",
                    "operationId": "listCategories",
                    "responses": {"200": _ok(_list_of("Category"))},
                }
            },
            "/provinces": {
                "get": {
                    "summary": "The 34 province-level units (since 1 July 2025)",
                    "operationId": "listProvinces",
                    "responses": {"200": _ok(_list_of("Province"))},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenApi",
                    "responses": {"200": _ok({"type": "object"})},
                }
            },
            **producer_paths(),  # producer API
        },
        "components": {
            "responses": {"Error": _ok({"$ref": "#/components/schemas/Error"}, "A refused request")},
            "securitySchemes": {  # producer API
                "producerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A producer's API token (made in the portal at /producer/api, shown once). "
                    "Requests are limited per token (120 a minute by default; 429 beyond).",
                }
            },
            "schemas": {
                **PRODUCER_SCHEMAS,  # producer API
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "parameter": {"type": "string"},
                            },
                        }
                    },
                },
                "ProducerRef": {
                    "type": "object",
                    "required": ["slug", "name"],
                    "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
                },
                "ProductItem": {
                    "type": "object",
                    "required": [
                        "slug",
                        "name",
                        "price",
                        "stars",
                        "province",
                        "producer",
                        "in_stock",
                        "sold_count",
                        "url",
                    ],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "name_en": {"type": "string", "description": "English name; empty when none"},
                        "price": {"type": "integer", "description": "Lowest variant price, đồng"},
                        "currency": {"type": "string", "enum": ["VND"]},
                        "stars": {
                            "type": "integer",
                            "nullable": True,
                            "minimum": 3,
                            "maximum": 5,
                            "description": "Null without a verified, unexpired certificate",
                        },
                        "province": {"type": "string"},
                        "province_slug": {"type": "string"},
                        "group": {"type": "string", "nullable": True},
                        "category": {"type": "string", "nullable": True},
                        "producer": {"$ref": "#/components/schemas/ProducerRef"},
                        "in_stock": {"type": "boolean"},
                        "sold_count": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "Units delivered to buyers (order lines of delivered shipments, less "
                            "cancelled units), recounted every few minutes",
                        },
                        "image": {"type": "string", "nullable": True},
                        "url": {"type": "string"},
                        "promo_price": {
                            "type": "integer",
                            "description": "Lowest promotional price while a promotion week runs, đồng "
                            "(absent outside promotions)",
                        },
                        "promotion": {"$ref": "#/components/schemas/PromotionRef"},
                    },
                },
                "PromotionRef": {
                    "type": "object",
                    "description": "The promotion week behind a promotional price. Prices follow the "
                    "week to the second: from starts_at (inclusive) to ends_at (exclusive).",
                    "required": ["slug", "name", "ends_at"],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "ends_at": {"type": "string", "format": "date-time"},
                        "url": {"type": "string"},
                    },
                },
                "Certificate": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "stars": {"type": "integer"},
                        "decision_number": {"type": "string"},
                        "decision_date": {"type": "string", "format": "date"},
                        "issuing_level": {"type": "string", "enum": ["province", "central"]},
                        "issuing_province": {"type": "string", "nullable": True},
                        "expires_on": {"type": "string", "format": "date"},
                    },
                },
                "ProductDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/ProductItem"},
                        {
                            "type": "object",
                            "required": ["description", "images", "certificate", "variants"],
                            "properties": {
                                "description": {"type": "string"},
                                "images": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "url": {"type": "string"},
                                            "alt": {"type": "string"},
                                            "width": {"type": "integer"},
                                            "height": {"type": "integer"},
                                        },
                                    },
                                },
                                "certificate": {"$ref": "#/components/schemas/Certificate"},
                                "variants": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["sku", "label", "price", "in_stock"],
                                        "properties": {
                                            "sku": {"type": "string"},
                                            "label": {"type": "string"},
                                            "price": {"type": "integer"},
                                            "weight_grams": {"type": "integer"},
                                            "in_stock": {"type": "boolean"},
                                            "barcode": {"type": "string", "nullable": True},
                                            "promo_price": {
                                                "type": "integer",
                                                "description": "Price while a promotion week runs, đồng "
                                                "(absent: the normal price applies)",
                                            },
                                            "promotion": {"$ref": "#/components/schemas/PromotionRef"},
                                            "promo_units_left": {
                                                "type": "integer",
                                                "description": "Units left at the promotional price "
                                                "(enrolled offers with a quota)",
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    ]
                },
                "ProducerItem": {
                    "type": "object",
                    "required": ["slug", "name", "owner_type", "province", "url"],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "owner_type": {"type": "string", "enum": list(OWNER_TYPES)},
                        "province": {"type": "string"},
                        "province_slug": {"type": "string"},
                        "ward": {"type": "string"},
                        "url": {"type": "string"},
                        "product_count": {"type": "integer"},
                    },
                },
                "ProducerDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/ProducerItem"},
                        {
                            "type": "object",
                            "properties": {
                                "address": {"type": "string"},
                                "story": {"type": "string"},
                                "certificates": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Certificate"},
                                },
                            },
                        },
                    ]
                },
                "Category": {
                    "type": "object",
                    "properties": {
                        "slug": {"type": "string"},
                        "code": {"type": "string"},
                        "level": {"type": "integer"},
                        "name": {"type": "string"},
                        "name_en": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Category"}},
                    },
                },
                "Province": {
                    "type": "object",
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "kind": {"type": "string", "enum": ["city", "province"]},
                        "merged_from": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    }


# --- producer API (/api/v1/producer) -----------------------------------------------------

_REF = "#/components/schemas/"
PRODUCER_SECURITY: list[dict[str, list[str]]] = [{"producerToken": []}]
IDEMPOTENCY_KEY = _param(
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
    sku = _param(
        "sku",
        {"type": "string", "pattern": "^[^\\x00-\\x20\\x7f=+\\-@][^\\x00-\\x1f\\x7f]{0,63}$"},
        "One of your SKUs.",
        where="path",
        required=True,
    )
    paging = _paging(PRODUCER_MAX_PAGE)
    sub_order_id = _param(
        "sub_order_id", {"type": "integer"}, "Your sub-order's id (from /producer/orders).", where="path", required=True
    )
    return {
        "/producer/products": {
            "get": _producer_op(
                "Your products and variants with stock on hand, held and available",
                "producerListProducts",
                {"200": _ok(_list_of("ProducerProduct")), "400": ERROR},
                params=paging,
            )
        },
        "/producer/stock/{sku}": {
            "put": _producer_op(
                "Set one SKU's stock on hand (and optionally its price)",
                "producerSetStock",
                {
                    "200": _ok({"$ref": _REF + "StockResult"}, "Applied or unchanged"),
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
                    "200": _ok({"$ref": _REF + "StockBatchResult"}, "One result per item, in the items' order"),
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
                {"200": _ok(_list_of("ProducerSubOrder")), "400": ERROR},
                params=[
                    _param(
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
                {"200": _ok({"$ref": _REF + "ProducerSubOrder"}), "404": ERROR, "409": ERROR},
                params=[sub_order_id],
                write=True,
            )
        },
        "/producer/orders/{sub_order_id}/ship": {
            "post": _producer_op(
                "Hand a confirmed sub-order to the carrier",
                "producerShipOrder",
                {"200": _ok({"$ref": _REF + "ProducerSubOrder"}), "400": ERROR, "404": ERROR, "409": ERROR},
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
