"""Command-line set-up: `flask --app wsgi <command>`."""

import click
from sqlalchemy import func, select


def register_cli(app) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the catalog already has products.")
    @click.option("--no-images", is_flag=True, help="Skip drawing product images (faster).")
    def seed_demo_command(if_empty: bool, no_images: bool):
        """Load the demo marketplace (idempotent)."""
        from shop.catalog.models import Product
        from shop.demo.seed import seed_demo
        from shop.extensions import db

        if if_empty and db.session.scalar(select(func.count(Product.id))):
            click.echo("The catalog already has products; demo data not loaded.")
            return
        added = seed_demo(with_images=not no_images)
        click.echo("Demo data: " + ", ".join(f"{n} {k}" for k, n in added.items()) + " added.")

    @app.cli.command("seed-bulk")
    @click.option("--products", "count", type=click.IntRange(1, 2_000_000), default=100_000, show_default=True)
    def seed_bulk_command(count: int):
        """Add a large synthetic catalog for benchmarks."""
        from shop.demo.bulk import seed_bulk

        added = seed_bulk(count, progress=lambda n: click.echo(f"  {n} products", err=True))
        click.echo(f"Bulk catalog: {added} products added.")

    @app.cli.command("load-reference")
    def load_reference_command():
        """Load provinces and OCOP categories (idempotent; needed by every deployment)."""
        from shop.reference import load_reference_data

        load_reference_data()
        click.echo("Provinces and categories loaded.")
