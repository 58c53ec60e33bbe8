"""What the fault tests share: a shopper over real HTTP, and waiting for a condition."""

import re
import time

import requests

from tests.support.factories import delivery_to


class Shopper:
    """A browser, as far as the server can tell: one cookie jar, same-origin POSTs."""

    def __init__(self, stack, email: str):
        self.stack, self.email = stack, email
        self.http = requests.Session()
        self.http.headers["Sec-Fetch-Site"] = "same-origin"

    def url(self, path: str) -> str:
        return self.stack.web.url + path

    def review(self, quantity: int = 1) -> dict:
        """Cart, delivery, and the review page's form (what "Đặt hàng" posts)."""
        s, base = self.stack, self.http
        assert (
            base.post(
                self.url("/gio-hang/them"),
                data={"variant_id": s.variant_ids[0], "quantity": quantity},
                allow_redirects=False,
                timeout=30,
            ).status_code
            == 303
        )
        with s.app.app_context():
            d = delivery_to(email=self.email)
        token = _hidden(base.get(self.url("/thanh-toan"), timeout=30).text)
        answer = base.post(
            self.url("/thanh-toan"),
            data={
                **token,
                "email": d.email,
                "recipient": d.recipient,
                "phone": d.phone,
                "province_id": d.province_id,
                "ward_id": d.ward_id,
                "street": d.street,
            },
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/xac-nhan"), answer.status_code
        page = base.get(self.url("/thanh-toan/xac-nhan"), timeout=30).text
        fields = dict(
            re.findall(r'<input[^>]*name="(checkout_key|expected_total|csrf_token)"[^>]*value="([^"]*)"', page)
        )
        fields.update(
            {
                v: k
                for k, v in re.findall(r'<input[^>]*value="([^"]*)"[^>]*name="(checkout_key|expected_total)"', page)
            }.items()
        )
        assert "checkout_key" in fields, page[:500]
        return {**fields, "payment_method": "cod"}

    def place(self, form: dict) -> requests.Response:
        return self.http.post(self.url("/thanh-toan/dat-hang"), data=form, allow_redirects=False, timeout=60)

    def checkout(self) -> str:
        """A whole COD checkout; returns the order page it lands on."""
        answer = self.place(self.review())
        assert answer.status_code == 303 and "/don-hang/" in answer.headers["Location"], (
            answer.status_code,
            answer.text[:300],
        )
        return answer.headers["Location"]


def _hidden(page: str) -> dict:
    """The form's CSRF token (personal pages carry one)."""
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return {"csrf_token": found.group(1)} if found else {}


def wait_until(predicate, timeout: float, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()
