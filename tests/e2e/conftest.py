"""End-to-end fixtures: the real app under gunicorn on a migrated, seeded
SQLite database with a real Redis, driven by Debian's Chromium."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.servers import ROOT, WebServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_server(card_server):
    """The one server of the e2e run (with card payments through localstripe)."""
    return card_server


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def csp_violations(context) -> list[str]:
    """Chromium reports what the Content-Security-Policy blocked on the console:
    every journey fails if anything was (a script, a frame, a request to Stripe)."""
    seen: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            seen.append(f"{message.location.get('url', '')}: {message.text}")

    context.on("console", on_console)
    return seen


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    violations = csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    assert violations == [], "blocked by the Content-Security-Policy"


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    violations = csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    assert violations == [], "blocked by the Content-Security-Policy"


@pytest.fixture
def artifacts() -> Path:
    path = ROOT / "tests" / "e2e" / "artifacts"
    path.mkdir(exist_ok=True)
    return path


# --- payments: the app paying through localstripe (fake Stripe API, Stripe.js, webhooks) ---
@pytest.fixture(scope="session")
def card_server(tmp_path_factory, redis_server):
    from tests.support.stripe import WEBHOOK_SECRET, LocalStripe

    instance = tmp_path_factory.mktemp("e2e-card-instance")
    fake_stripe = LocalStripe(log_path=instance / "localstripe.log").start()
    env = {
        "SHOP_INSTANCE_DIR": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'shop.db'}",
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "e2e-secret",
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake_stripe.api_base,
        "STRIPE_JS_URL": fake_stripe.js_url,
        # Every journey signs in from 127.0.0.1 within a few minutes: more than a person would.
        "LOGIN_LIMIT_PER_IP": "200 per minute",
    }
    try:
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        # The scenarios close payout weeks and count new orders themselves: no demo orders.
        for command in (["db", "upgrade"], ["seed-demo", "--no-orders"]):
            subprocess.run(flask + command, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
        server = WebServer(env, instance / "gunicorn.log")
        fake_stripe.register_webhook(f"http://127.0.0.1:{server.port}/webhooks/stripe", WEBHOOK_SECRET)
        server.start()
        server.env = env
        yield server
        server.stop()
    finally:
        fake_stripe.stop()
