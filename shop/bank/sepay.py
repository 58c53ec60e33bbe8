"""SePay, the bank-notification service: checking its webhook's credentials and
asking its API for recent transactions. The one module that talks to SePay.

Webhook: SePay posts one JSON object per transaction with `Authorization: Apikey
<key>`; with HMAC-SHA256 configured as well, `X-SePay-Signature` carries the hex
HMAC of the raw body (optionally "<timestamp>.<body>" with `X-SePay-Timestamp`,
which must then be within five minutes). It retries a delivery that does not get
a 200 with `{"success": true}` (up to 7 times).

API: `GET {SEPAY_API_BASE}/transactions/list` with `Authorization: Bearer <token>`
answers `{"status": 200, "messages": {"success": true}, "transactions": [...]}`,
each with `id`, `bank_brand_name`, `account_number`, `sub_account`,
`transaction_date`, `amount_in`, `amount_out`, `accumulated`,
`transaction_content`, `reference_number`, `code`."""

import hashlib
import hmac
import time

import requests
from flask import current_app

SIGNATURE_MAX_SKEW = 300  # seconds


class SepayError(Exception):
    pass


def _config(name: str) -> str:
    return current_app.config.get(name) or ""


def check_webhook(authorization: str | None, signature: str | None, timestamp: str | None, body: bytes) -> bool:
    """Whether a webhook request carries our API key (and, if a secret is set, a good HMAC)."""
    key = _config("SEPAY_WEBHOOK_KEY")
    if not key:
        return False  # no key configured: nothing is accepted
    given = (authorization or "").strip()
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "apikey" or not hmac.compare_digest(value.strip().encode(), key.encode()):
        return False
    secret = _config("SEPAY_WEBHOOK_SECRET")
    if not secret:
        return True
    return signature_ok(secret, signature, timestamp, body)


def sign(secret: str, body: bytes, timestamp: str | None = None) -> str:
    message = (timestamp.encode() + b"." + body) if timestamp else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_ok(
    secret: str, signature: str | None, timestamp: str | None, body: bytes, now: float | None = None
) -> bool:
    sig = (signature or "").strip().lower().removeprefix("sha256=")
    if not sig:
        return False
    if timestamp:
        try:
            if abs((now or time.time()) - int(timestamp)) > SIGNATURE_MAX_SKEW:
                return False
        except ValueError:
            return False
    return hmac.compare_digest(sig, sign(secret, body, timestamp or None))


def webhook_headers(body: bytes) -> dict[str, str]:
    """The headers SePay would send with `body` (for `bank simulate-transfer`)."""
    headers = {"Authorization": f"Apikey {_config('SEPAY_WEBHOOK_KEY')}", "Content-Type": "application/json"}
    secret = _config("SEPAY_WEBHOOK_SECRET")
    if secret:
        stamp = str(int(time.time()))
        headers["X-SePay-Timestamp"] = stamp
        headers["X-SePay-Signature"] = sign(secret, body, stamp)
    return headers


def _amount(value) -> int:
    try:
        return int(round(float(value or 0)))
    except (TypeError, ValueError):
        return 0


def as_notice(row: dict) -> dict:
    """A transaction-list row in the webhook's shape, so both go through one path."""
    amount_in, amount_out = _amount(row.get("amount_in")), _amount(row.get("amount_out"))
    return {
        "id": row.get("id"),
        "gateway": row.get("bank_brand_name") or "",
        "transactionDate": row.get("transaction_date") or "",
        "accountNumber": row.get("account_number") or "",
        "subAccount": row.get("sub_account") or "",
        "code": row.get("code") or "",
        "content": row.get("transaction_content") or "",
        "transferType": "in" if amount_in > 0 else "out",
        "transferAmount": amount_in if amount_in > 0 else amount_out,
        "accumulated": _amount(row.get("accumulated")),
        "referenceCode": row.get("reference_number") or "",
    }


def recent_transactions(limit: int = 100) -> list[dict]:
    """The latest incoming transactions of our account, in the webhook's shape."""
    base, token = _config("SEPAY_API_BASE"), _config("SEPAY_API_TOKEN")
    if not base or not token:
        raise SepayError("SEPAY_API_BASE and SEPAY_API_TOKEN are not set")
    params = {"limit": str(limit)}
    account = _config("SEPAY_ACCOUNT_NUMBER")
    if account:
        params["account_number"] = account
    try:
        response = requests.get(
            base.rstrip("/") + "/transactions/list",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=float(current_app.config.get("SEPAY_TIMEOUT", 10)),
        )
        response.raise_for_status()
        doc = response.json()
    except (requests.RequestException, ValueError) as err:
        raise SepayError(str(err)) from err
    rows = doc.get("transactions") if isinstance(doc, dict) else None
    if rows is None and isinstance(doc, dict):
        rows = doc.get("data")  # the v2 envelope
    if not isinstance(rows, list):
        raise SepayError("unexpected answer from the transaction list")
    return [as_notice(row) for row in rows if isinstance(row, dict)]
