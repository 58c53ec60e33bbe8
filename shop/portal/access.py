"""Who may act for which producer in the portal."""

import functools

from flask import abort, g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from shop.accounts.models import ProducerMember
from shop.extensions import db
from shop.producers.models import Producer


def memberships() -> list[ProducerMember]:
    if not current_user.is_authenticated:
        return []
    return list(
        db.session.scalars(
            select(ProducerMember)
            .join(Producer)
            .where(ProducerMember.user_id == current_user.id)
            .order_by(Producer.name)
        )
    )


def current_membership() -> ProducerMember | None:
    """The producer the user is acting for (chosen in the portal when they belong to several)."""
    if "portal_membership" not in g:
        mine = memberships()
        chosen = session.get("portal_producer_id")
        g.portal_membership = next((m for m in mine if m.producer_id == chosen), mine[0] if mine else None)
    return g.portal_membership


def producer_required(view=None, *, owner: bool = False, approved: bool = True):
    """The view needs a signed-in member of a producer (its owner if `owner`), and
    an approved producer unless `approved=False` (the application pages)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path))
            member = current_membership()
            if member is None:
                return redirect(url_for("portal.apply"))
            if owner and member.role != "owner":
                abort(403)
            if approved and member.producer.status != "approved":
                return redirect(url_for("portal.application_status"))
            g.producer = member.producer
            g.producer_role = member.role
            return fn(*args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def producer_ids() -> list[int]:
    """The producers the current request may act for: the one chosen (scoping every query)."""
    member = current_membership()
    return [member.producer_id] if member else []
