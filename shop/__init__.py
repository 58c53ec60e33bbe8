"""Chợ OCOP: the application factory."""

import os
from pathlib import Path

from flask import Flask, request

from config import CONFIGS, ProductionConfig, dev_secret_key, dev_sepay_key

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    from flask import current_app, has_request_context

    if not has_request_context():  # CLI commands and tasks: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get("lang")
    if chosen is not None and chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the Flask app. `config_name` is development (default), testing or
    production (also from SHOP_ENV); `overrides` replace single settings."""
    config_name = config_name or os.environ.get("SHOP_ENV", "development")
    config_class = CONFIGS[config_name]
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(Path(config_class.INSTANCE_DIR)),
    )
    from shop.template_env import LocalizedEnvironment

    app.jinja_environment = LocalizedEnvironment  # templates compiled per language
    from shop.inputs import install_input_checks

    install_input_checks(app)  # before any route: `<int:...>` is bounded to the database's range
    app.config.from_object(config_class)
    app.config.update(overrides)
    from shop.database import configure_database

    configure_database(app)  # postgres:// URLs, pool, statement timeout, pgbouncer, replica
    if config_name == "production":
        ProductionConfig.check(app.config)  # CONFIGS["production"]
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = dev_secret_key()
    if config_name == "development" and not app.config.get("SEPAY_WEBHOOK_KEY"):
        app.config["SEPAY_WEBHOOK_KEY"] = dev_sepay_key()
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    if (app.config.get("STORAGE_BACKEND") or "local") == "local":
        Path(app.config["MEDIA_DIR"]).mkdir(parents=True, exist_ok=True)

    from shop.storage import StorageError, init_storage

    try:
        init_storage(app)
    except StorageError as exc:  # a wrong bucket or key stops the node here, saying why
        raise RuntimeError(f"file storage is misconfigured: {exc}") from exc

    from shop import models  # noqa: F401 - registers every table with the metadata
    from shop.cache import init_cache
    from shop.extensions import babel, compress, csrf, db, limiter, limiter_storage_uri, login_manager, migrate
    from shop.page_cache import register_page_cache

    # First: its after-request hook must run after every other one (see shop.page_cache).
    register_page_cache(app, compress)
    compress.init_app(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories=str(ROOT / "shop" / "translations")
    )
    init_cache(app)
    login_manager.init_app(app)
    app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(app.config)
    limiter.init_app(app)

    from shop.catalog.changes import track_catalog_changes
    from shop.db_events import register_db_events

    register_db_events(app)
    track_catalog_changes()

    from shop.accounts.views import bp as accounts_bp
    from shop.api.views import bp as api_bp
    from shop.catalog.views import bp as catalog_bp
    from shop.health.views import bp as health_bp
    from shop.pages.views import bp as pages_bp

    app.register_blueprint(catalog_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    from shop.promotions.views import bp as promotions_bp  # promotion weeks' landing pages

    app.register_blueprint(promotions_bp)

    from shop.cart.views import bp as cart_bp
    from shop.cart.views import register_cart_merge
    from shop.checkout.views import bp as checkout_bp
    from shop.orders.views import bp as orders_bp
    from shop.orders.views import register_guest_order_claim

    app.register_blueprint(cart_bp)
    app.register_blueprint(checkout_bp)
    app.register_blueprint(orders_bp)

    from shop.portal import bp as portal_bp
    from shop.portal import routes as _portal_routes  # noqa: F401 - registers the portal's routes
    from shop.reviews.views import bp as reviews_bp  # also adds /ops/danh-gia and /producer/danh-gia

    app.register_blueprint(portal_bp)
    # --- operator screen (portal catalog) ---
    from shop.operator import bp as operator_bp
    from shop.operator import routes as _operator_routes  # noqa: F401 - registers the console's routes

    app.register_blueprint(reviews_bp)

    app.register_blueprint(operator_bp)
    # --- end operator screen ---
    register_cart_merge(app)
    register_guest_order_claim(app)

    from shop.notifications.services import register_outbox_hooks

    register_outbox_hooks()
    app.register_blueprint(accounts_bp)

    # --- payments ---
    from shop.payments.views import bp as payments_bp
    from shop.payments.views import stripe_webhook

    app.register_blueprint(payments_bp)
    csrf.exempt(stripe_webhook)  # Stripe signs its webhooks; the signature is checked instead
    from shop.bank.views import bp as bank_bp
    from shop.bank.views import sepay_webhook

    app.register_blueprint(bank_bp)
    csrf.exempt(sepay_webhook)  # SePay's API key (and HMAC) are checked instead
    # --- end payments ---

    # --- producer API and stock sync ---
    from shop.inventory.api import bp as producer_api_bp
    from shop.partners.services import register_delivery_hooks

    app.register_blueprint(producer_api_bp)
    csrf.exempt(producer_api_bp)  # bearer tokens only, never cookies: nothing for CSRF to forge
    register_delivery_hooks()
    # --- end producer API and stock sync ---

    from shop.errors import register_error_handlers
    from shop.templating import register_templating

    register_error_handlers(app)
    register_templating(app)

    from shop.cli import register_cli

    register_cli(app)

    from shop.template_env import language

    @app.context_processor
    def inject_locale():
        return {"locale": language()}

    from shop.formatting import next_vn_midnight
    from shop.page_cache import install_middleware, register_expiry
    from shop.promotions.pricing import next_boundary

    # Pages change by the clock alone at a promotion week's edges and at midnight
    # in Vietnam (certificates lapse, "today" moves): cached pages end there.
    register_expiry(app, next_boundary)
    register_expiry(app, next_vn_midnight)
    install_middleware(app)

    from shop.assets import register_assets

    register_assets(app)

    from shop.observability import init_observability

    init_observability(app)
    from shop.security import install_security_headers

    install_security_headers(app)  # around the page cache's middleware too (only ProxyFix is outside)
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Outermost: the page cache, rate limits and URLs all see the client's address and
        # scheme as the last `hops` proxies (ours) report them; nothing further out is believed.
        # Flask's documented way to add WSGI middleware; mypy refuses any assignment to a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app
