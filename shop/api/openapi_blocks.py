"""Building blocks of the OpenAPI document: parameters, paged lists, answers."""


def param(name: str, schema: dict, description: str, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def list_schema(ref: str) -> dict:
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


def ok_response(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/responses/Error"}


def paging_params(max_page: int) -> list[dict]:
    return [
        param(
            "page",
            {"type": "integer", "minimum": 1, "maximum": max_page, "default": 1},
            f"Page number, from 1 (at most {max_page:,}; past the last page the list is empty).",
        ),
        param(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "Items per page (at most 100).",
        ),
    ]
