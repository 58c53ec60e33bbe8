"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from shop.catalog.filters import MAX_QUERY_CHARS, SORTS
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
PAGING = [
    _param("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    _param(
        "per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Items per page (at most 100)."
    ),
]
SLUG = _param("slug", {"type": "string"}, "The slug from a list item.", where="path", required=True)


def openapi_document() -> dict:
    product_filters = [
        _param(
            "q",
            {"type": "string", "maxLength": MAX_QUERY_CHARS},
            "Search words; tone marks and đ/Đ are ignored ('banh da' finds 'Bánh đa Kế').",
        ),
        _param(
            "stars",
            {"type": "integer", "minimum": 3, "maximum": 5},
            "Minimum OCOP stars of a verified, unexpired certificate.",
        ),
        _param("group", {"type": "string"}, "Category slug (group, sub-group or set); includes its children."),
        _param("province", {"type": "string"}, "Origin province slug (see /provinces)."),
        _param("owner_type", {"type": "string", "enum": list(OWNER_TYPES)}, "Producer's owner type."),
        _param("producer", {"type": "string"}, "Producer slug."),
        _param("price_min", {"type": "integer", "minimum": 0}, "Lowest variant price at least this, in đồng."),
        _param("price_max", {"type": "integer", "minimum": 0}, "Lowest variant price at most this, in đồng."),
        _param("in_stock", {"type": "boolean"}, "Only products with a variant in stock."),
        _param(
            "sort",
            {"type": "string", "enum": list(SORTS), "default": "relevance"},
            "Relevance applies when q is given; otherwise newest first.",
        ),
        *PAGING,
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Chợ OCOP public catalog API",
            "version": "1",
            "description": "Read-only catalog of OCOP products (3–5 stars) for partner retailers and apps. "
            "Prices are integers of Vietnamese đồng (VND has no minor unit).",
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
                        _param("province", {"type": "string"}, "Province slug."),
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
        },
        "components": {
            "responses": {"Error": _ok({"$ref": "#/components/schemas/Error"}, "A refused request")},
            "schemas": {
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
                    "required": ["slug", "name", "price", "stars", "province", "producer", "in_stock", "url"],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
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
                        "image": {"type": "string", "nullable": True},
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
