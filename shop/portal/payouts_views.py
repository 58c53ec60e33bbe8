"""Portal pages for what the marketplace owes the producer (/producer/doi-soat):
the balance, the entries not yet in a statement, and each weekly statement
(HTML and CSV). Owners only: a staff member gets a 404, as does another
producer's statement."""

import functools

from flask import Response, abort, g, render_template
from flask_babel import get_locale

from shop.bank import services as bank
from shop.ledger import queries, statements
from shop.portal import bp
from shop.portal.access import producer_required


def owner_only(view):
    @producer_required
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.producer_role != "owner":
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def _helpers() -> dict:
    locale = str(get_locale() or "vi")
    return {
        "kind_labels": statements.KIND_LABELS,
        "period_text": lambda p: statements.period_text(p.period_start, p.period_end, locale),
        "bank_text": statements.bank_text,
    }


@bp.get("/doi-soat")
@owner_only
def payouts():
    producer = g.producer
    return render_template(
        "portal/payouts.html",
        summary=queries.balance_of(producer.id),
        statement=statements.unsettled(producer),
        payouts=queries.payouts(producer_id=producer.id, per_page=100).items,
        **_helpers(),
    )


@bp.get("/doi-soat/<int:payout_id>")
@owner_only
def payout(payout_id: int):
    found = queries.payout(payout_id, producer_id=g.producer.id)
    return render_template(
        "portal/payouts_detail.html",
        payout=found,
        statement=statements.for_payout(found),
        transfer_note=bank.payout_reference(found),
        **_helpers(),
    )


@bp.get("/doi-soat/<int:payout_id>.csv")
@owner_only
def payout_csv(payout_id: int):
    found = queries.payout(payout_id, producer_id=g.producer.id)
    body = statements.to_csv(statements.for_payout(found), str(get_locale() or "vi"))
    filename = f"doi-soat-{found.producer.slug}-{found.period_start:%Y%m%d}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
