"""`flask --app wsgi bank simulate-transfer`: what SePay would post when a shopper
pays an order by bank transfer, sent to the running shop with our API key, so the
demo can be paid "by bank" offline."""

import json
import secrets

import requests
from flask import current_app
from sqlalchemy import select

from shop.bank import directory, sepay
from shop.extensions import db
from shop.formatting import to_vn, utcnow
from shop.orders.models import Order
from shop.settings.services import get_text


class SimulationError(Exception):
    pass


def notice_for(order: Order, amount: int | None = None) -> dict:
    """A SePay notification paying `amount` (default: what is due) for the order,
    with a note mangled as banks do (prefix, lower case, the code split by a space)."""
    account = settings_account()
    code = order.payment_code
    amount = order.amount_due if amount is None else amount
    return {
        "id": 900_000_000 + secrets.randbelow(99_999_999),
        "gateway": account.short_name if account else "Vietcombank",
        "transactionDate": to_vn(utcnow()).strftime("%Y-%m-%d %H:%M:%S"),
        "accountNumber": settings_number(),
        "code": None,
        "content": f"MBVCB.{secrets.randbelow(10**7)}.{code[:8].lower()} {code[8:]}.CT tu 0123456789 KHACH DEMO",
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 0,
        "subAccount": None,
        "referenceCode": f"FT{secrets.randbelow(10**10):010d}",
        "description": "simulated by flask bank simulate-transfer",
    }


def settings_account() -> directory.Bank | None:
    return directory.by_bin(get_text("vietqr_bank_bin"))


def settings_number() -> str:
    return get_text("vietqr_account_number")


def simulate_transfer(number: str, amount: int | None, url: str) -> tuple[int, str]:
    """Post the notification to `url`; returns (HTTP status, body)."""
    order = db.session.scalars(select(Order).where(Order.number == number.strip().upper())).first()
    if order is None:
        raise SimulationError(f"no order {number}")
    if order.payment_method != "vietqr":
        raise SimulationError(f"order {order.number} is not paid by bank transfer ({order.payment_method})")
    body = json.dumps(notice_for(order, amount)).encode()
    try:
        response = requests.post(url, data=body, headers=sepay.webhook_headers(body), timeout=15)
    except requests.RequestException as err:
        raise SimulationError(f"could not reach {url}: {err}") from err
    return response.status_code, response.text


def webhook_url() -> str:
    base = current_app.config.get("SITE_URL") or "http://127.0.0.1:5000"
    return base.rstrip("/") + "/webhooks/sepay"
