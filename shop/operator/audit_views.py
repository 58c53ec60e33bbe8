"""The console's audit log (/ops/nhat-ky) and the audit helpers every console
template uses (a target's page, its changes as people read them).
"""

from flask import current_app, render_template, request, url_for
from werkzeug.routing import BuildError

from shop.operator import audit_queries, bp
from shop.operator.view_helpers import _int_arg, _locale, _page

# target_type -> (endpoint, argument name or None) of the console page that shows it.
TARGET_PAGES = {
    "producer": ("operator.producer", "producer_id"),
    "order": ("operator.order", "order_id"),
    "promotion": ("operator.promotion_edit", "promotion_id"),
    "voucher": ("operator.voucher", "voucher_id"),
    "payout": ("operator.payout", "payout_id"),
    "category": ("operator.categories", None),
    "setting": ("operator.settings", None),
    "shipping_rate": ("operator.settings", None),
}


@bp.app_template_global()
def audit_target_url(entry) -> str | None:
    """The console page of an audit entry's target, if there is one."""
    page = TARGET_PAGES.get(entry.target_type)
    if page is None or page[0] not in current_app.view_functions:
        return None
    endpoint, argument = page
    if argument is not None and entry.target_id is None:
        return None
    try:
        return url_for(endpoint, **({argument: entry.target_id} if argument else {}))
    except BuildError:
        return None


@bp.app_template_global()
def audit_changes(entry) -> list[tuple[str, str, str]]:
    """(field label, before, after) for each field the entry changed, as people read them."""
    loc = _locale()
    return [
        (
            c.label,
            audit_queries.display_value(c.field, c.before, loc, entry.target_type),
            audit_queries.display_value(c.field, c.after, loc, entry.target_type),
        )
        for c in audit_queries.changes(entry.before, entry.after)
        # A reason field that just took the entry's reason is shown once, as the reason.
        if not (c.field.endswith("reason") and c.after and c.after == entry.reason and not c.before)
    ]


@bp.app_template_global()
def audit_action_label(action: str) -> str:
    return str(audit_queries.ACTION_LABELS.get(action, action))


@bp.app_template_global()
def audit_target_label(target_type: str) -> str:
    return str(audit_queries.TARGET_LABELS.get(target_type, target_type))


@bp.get("/nhat-ky")
def audit():
    action = request.args.get("action", "").strip()[:64]
    target_type = request.args.get("type", "").strip()[:32]
    actor_id = _int_arg("actor")
    target_id = _int_arg("target")
    result = audit_queries.audit_page(action, target_type, actor_id, target_id, _page())
    return render_template(
        "operator/audit.html",
        result=result,
        options=audit_queries.audit_filters(),
        filters={"action": action, "type": target_type, "actor": actor_id, "target": target_id},
    )
