"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json: the public
catalog API here, the producer API's paths and schemas from `openapi_producer`."""

from shop.api.openapi_blocks import ERROR, list_schema, ok_response, paging_params, param
from shop.api.openapi_producer import PRODUCER_SCHEMAS, producer_paths
from shop.catalog.filters import MAX_PAGE, MAX_PRICE, MAX_QUERY_CHARS, SORTS
from shop.producers.models import OWNER_TYPES

PAGING = paging_params(MAX_PAGE)
# Slugs as the API reads them: ASCII letters, digits and hyphens (case is ignored).
SLUG_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9-]{1,120}$"}
SLUG = param(
    "slug", {"type": "string", "pattern": "^[^\\x00]+$"}, "The slug from a list item.", where="path", required=True
)


def openapi_document(province_slugs: list[str] | None = None) -> dict:
    """The document; `province_slugs` (reference data) lists the values /producers takes."""
    product_filters = [
        param(
            "q",
            {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": "^[^\\x00]*$"},
            "Search words; tone marks and đ/Đ are ignored ('banh da' finds 'Bánh đa Kế').",
        ),
        param(
            "stars",
            {"type": "integer", "minimum": 3, "maximum": 5},
            "Minimum OCOP stars of a verified, unexpired certificate.",
        ),
        param("group", SLUG_SCHEMA, "Category slug (group, sub-group or set); includes its children."),
        param("province", SLUG_SCHEMA, "Origin province slug (see /provinces)."),
        param("owner_type", {"type": "string", "enum": list(OWNER_TYPES)}, "Producer's owner type."),
        param("producer", SLUG_SCHEMA, "Producer slug."),
        param(
            "price_min",
            {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
            "Lowest variant price at least this, in đồng.",
        ),
        param(
            "price_max",
            {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
            "Lowest variant price at most this, in đồng.",
        ),
        param("in_stock", {"type": "boolean"}, "Only products with a variant in stock."),
        param(
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
                    "responses": {"200": ok_response(list_schema("ProductItem")), "400": ERROR},
                }
            },
            "/products/{slug}": {
                "get": {
                    "summary": "One product with variants, images and its certificate",
                    "operationId": "getProduct",
                    "parameters": [SLUG],
                    "responses": {"200": ok_response({"$ref": "#/components/schemas/ProductDetail"}), "404": ERROR},
                }
            },
            "/producers": {
                "get": {
                    "summary": "List approved producers",
                    "operationId": "listProducers",
                    "parameters": [
                        param(
                            "province",
                            {"type": "string", "enum": province_slugs} if province_slugs else SLUG_SCHEMA,
                            "Province slug (see /provinces); an unknown one is a 400.",
                        ),
                        param("owner_type", {"type": "string", "enum": list(OWNER_TYPES)}, "Owner type."),
                        *PAGING,
                    ],
                    "responses": {"200": ok_response(list_schema("ProducerItem")), "400": ERROR},
                }
            },
            "/producers/{slug}": {
                "get": {
                    "summary": "One producer with its valid certificates",
                    "operationId": "getProducer",
                    "parameters": [SLUG],
                    "responses": {"200": ok_response({"$ref": "#/components/schemas/ProducerDetail"}), "404": ERROR},
                }
            },
            "/categories": {
                "get": {
                    "summary": "The OCOP category tree (groups, sub-groups, sets)",
                    "operationId": "listCategories",
                    "responses": {"200": ok_response(list_schema("Category"))},
                }
            },
            "/provinces": {
                "get": {
                    "summary": "The 34 province-level units (since 1 July 2025)",
                    "operationId": "listProvinces",
                    "responses": {"200": ok_response(list_schema("Province"))},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenApi",
                    "responses": {"200": ok_response({"type": "object"})},
                }
            },
            **producer_paths(),  # producer API
        },
        "components": {
            "responses": {"Error": ok_response({"$ref": "#/components/schemas/Error"}, "A refused request")},
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
