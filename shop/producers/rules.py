"""Pure rules about OCOP certificates."""

from datetime import date

from dateutil.relativedelta import relativedelta

VALIDITY_MONTHS = 36


def certificate_expiry(decision_date: date) -> date:
    """Last day a certificate is valid: the decision date plus 36 months
    (a 29 February decision ends on 28 February)."""
    return decision_date + relativedelta(months=VALIDITY_MONTHS)


def shown_stars(state: str, stars: int, expires_on: date, today: date) -> int | None:
    """Stars a product may display today: only a verified, unexpired certificate counts."""
    if state == "verified" and expires_on >= today:
        return stars
    return None
