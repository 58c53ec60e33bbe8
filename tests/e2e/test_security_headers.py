"""The Content-Security-Policy is in force in Chromium: our pages and Stripe.js
(localstripe's in tests) run; anything injected inline does not."""

import pytest

from tests.e2e.conftest import csp_violations

pytestmark = pytest.mark.e2e


def test_an_injected_inline_script_is_blocked_and_reported(browser, live_server):
    context = browser.new_context(locale="vi-VN")
    violations = csp_violations(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/san-pham")
    page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.injected = 1";
                   document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert any("script-src" in v for v in violations), violations
    context.close()


def test_no_page_can_be_framed_by_another_site(browser, live_server):
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_content(f'<iframe id="f" src="{live_server.url}/"></iframe>')
    page.wait_for_timeout(500)
    frame = page.frame_locator("#f")
    assert frame.locator("#main").count() == 0
    context.close()
