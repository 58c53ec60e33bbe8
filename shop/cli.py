"""Command-line set-up: `flask --app wsgi <command>`."""

import click
from sqlalchemy import func, select


def register_cli(app) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the catalog already has products.")
    @click.option("--no-images", is_flag=True, help="Skip drawing product images (faster).")
    @click.option("--no-orders", is_flag=True, help="Leave out the demo orders and payout weeks.")
    def seed_demo_command(if_empty: bool, no_images: bool, no_orders: bool):
        """Load the demo marketplace (idempotent)."""
        from shop.catalog.models import Product
        from shop.demo.seed import seed_demo
        from shop.extensions import db

        if if_empty and db.session.scalar(select(func.count(Product.id))):
            click.echo("The catalog already has products; demo data not loaded.")
            return
        added = seed_demo(with_images=not no_images, with_orders=not no_orders)
        click.echo("Demo data: " + ", ".join(f"{n} {k}" for k, n in added.items()) + " added.")

    @app.cli.command("seed-bulk")
    @click.option("--products", "count", type=click.IntRange(1, 2_000_000), default=100_000, show_default=True)
    def seed_bulk_command(count: int):
        """Add a large synthetic catalog for benchmarks."""
        from shop.demo.bulk import seed_bulk

        added = seed_bulk(count, progress=lambda n: click.echo(f"  {n} products", err=True))
        click.echo(f"Bulk catalog: {added} products added.")

    @app.cli.group("storage")
    def storage_group():
        """The file store (STORAGE_BACKEND): check it, copy local files into it."""

    @storage_group.command("check")
    def storage_check():
        """Reach the configured store once; exit 1 with the reason when it cannot be used."""
        from flask import current_app

        from shop.storage import StorageError, storage

        try:
            storage().check()
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"Storage {storage().name}: ok"
            + (f" ({current_app.config['S3_BUCKET']})" if storage().name == "s3" else "")
        )

    @storage_group.command("create-bucket")
    def storage_create_bucket():
        """Create S3_BUCKET on the configured store (a fresh self-hosted or test store)."""
        from shop.storage import S3Storage, StorageError, storage

        target = storage()
        if not isinstance(target, S3Storage):
            raise click.ClickException("STORAGE_BACKEND is not s3")
        try:
            target.client.create_bucket(Bucket=target.bucket)
        except Exception as exc:  # noqa: BLE001 - the store's own words are the message
            raise click.ClickException(f"could not create bucket {target.bucket!r}: {exc}") from None
        try:
            target.check()
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Bucket {target.bucket} ready.")

    @storage_group.command("copy-local")
    @click.option("--overwrite", is_flag=True, help="Copy files the store already has, too.")
    def storage_copy_local(overwrite: bool):
        """Copy the files under MEDIA_DIR, CERTIFICATE_DIR and STOCK_IMPORT_DIR into the configured
        store (run once when moving to S3; safe to run again: files already there are skipped)."""
        from flask import current_app

        from shop.storage import StorageError, copy_local_files, local_storage_of, storage

        target = storage()
        if target.name == "local":
            raise click.ClickException("STORAGE_BACKEND is local: set STORAGE_BACKEND=s3 and S3_* first")
        try:
            counts = copy_local_files(target, local_storage_of(current_app.config), overwrite=overwrite)
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("Copied: " + ", ".join(f"{n} {area}" for area, n in counts.items()))

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", type=click.Choice(["shopper", "producer", "operator"]), required=True)
    @click.option("--producer", "producer_slug", help="Slug of the producer a producer account owns.")
    @click.option("--name", default="", help="Display name (default: the part of the e-mail before @).")
    @click.password_option(help="Asked for when not given.")
    def create_user_command(email: str, role: str, producer_slug: str | None, name: str, password: str):
        """Create an account with a verified e-mail (a producer account owns --producer)."""
        from shop.accounts.services import create_user
        from shop.errors import ShopError

        if role == "producer" and not producer_slug:
            raise click.UsageError("--role producer needs --producer SLUG")
        try:
            user = create_user(email, role, password, producer_slug=producer_slug, name=name)
        except ShopError as err:
            raise click.ClickException(err.message) from None
        owner = f", owner of {producer_slug}" if producer_slug else ""
        click.echo(f"Created {user.role} {user.email} (id {user.id}{owner}).")

    @app.cli.command("load-reference")
    def load_reference_command():
        """Load provinces, wards and OCOP categories (idempotent; needed by every deployment)."""
        from shop.reference import load_reference_data

        load_reference_data()
        click.echo("Provinces, wards and categories loaded.")

    # --- stock sync: producer API tokens and partner webhooks ---
    @app.cli.command("producer-token")
    @click.argument("slug")
    @click.option("--name", default="CLI", show_default=True, help="What the token is for (shown in the portal).")
    @click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Expire after N days.")
    def producer_token_command(slug: str, name: str, expires_days: int | None):
        """Print a new producer API token for the producer SLUG (shown only this once)."""
        from shop.errors import ShopError
        from shop.extensions import db
        from shop.inventory.tokens import create_token
        from shop.producers.models import Producer

        producer = db.session.scalars(select(Producer).where(Producer.slug == slug)).first()
        if producer is None:
            raise click.ClickException(f"No producer '{slug}'.")
        try:
            token, raw = create_token(producer.id, name, expires_in_days=expires_days)
        except ShopError as err:
            raise click.ClickException(err.message) from None
        click.echo(f"Token {token.prefix}… for {producer.name} (id {token.id}); keep it now, it is not shown again:")
        click.echo(raw)

    @app.cli.group("partner-webhook")
    def partner_webhook_group():
        """Partner channels told about stock and price changes."""

    @partner_webhook_group.command("add")
    @click.argument("name")
    @click.argument("url")
    def partner_webhook_add(name: str, url: str):
        """Register a partner endpoint and print its signing secret (shown only this once)."""
        from shop.errors import ShopError
        from shop.partners.services import add_webhook

        try:
            hook = add_webhook(name, url)
        except ShopError as err:
            raise click.ClickException(err.message) from None
        click.echo(f"Partner webhook {hook.id} '{hook.name}' -> {hook.url}")
        click.echo(f"Signing secret (X-OCOP-Signature, HMAC-SHA256): {hook.secret}")

    @partner_webhook_group.command("list")
    def partner_webhook_list():
        """List partner endpoints with their deliveries by status."""
        from shop.partners.services import list_webhooks

        rows = list_webhooks()
        if not rows:
            click.echo("No partner webhooks.")
        for hook, counts in rows:
            state = "active" if hook.active else "inactive"
            tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no deliveries"
            click.echo(f"{hook.id}\t{hook.name}\t{hook.url}\t{state}\t{tally}")

    # --- end stock sync ---

    # --- bank transfers ---
    @app.cli.group("bank")
    def bank_group():
        """Bank transfers (VietQR): simulate a transfer, reconcile with SePay."""

    @bank_group.command("simulate-transfer")
    @click.argument("order_number")
    @click.argument("amount", required=False, type=click.IntRange(1, 10**11))
    @click.option("--url", default=None, help="The shop's webhook (default: SITE_URL + /webhooks/sepay).")
    def bank_simulate_transfer(order_number: str, amount: int | None, url: str | None):
        """Post what SePay would send when ORDER_NUMBER is paid by bank transfer
        (AMOUNT đồng; default what is still due) to the running shop."""
        from shop.bank.simulate import SimulationError, simulate_transfer, webhook_url

        target = url or webhook_url()
        try:
            status, body = simulate_transfer(order_number, amount, target)
        except SimulationError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"POST {target} -> {status} {body.strip()}")
        if status != 200:
            raise SystemExit(1)

    @bank_group.command("reconcile")
    def bank_reconcile():
        """Ask SePay for recent transactions and process the ones the webhook missed."""
        from shop.bank.services import reconcile

        click.echo(reconcile())

    # --- end bank transfers ---
