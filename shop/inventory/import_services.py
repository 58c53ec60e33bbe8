"""Stock files: a CSV uploaded in the portal, or a CSV or JSON pulled from a
producer's feed (`feed_services`). Both become a StockImport row that the worker
processes in chunks of CHUNK rows, each chunk in its own transaction, through the
same `services.apply_lines` as the API; the row keeps the progress and a per-row
report.

Quantities are absolute (stock on hand), so applying a file twice sets the same
values; still, the same upload within DUPLICATE_WINDOW is answered with the
earlier import, an unchanged feed is not applied again (it would bring back
units shipped since), and processing the same import twice does nothing the
second time.

Report entries are compact lists: [row, sku, status, reason code, n, available],
status one of applied / unchanged / rejected (unknown SKUs are rejected with
reason unknown_sku or other_producer)."""

import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from shop.extensions import db
from shop.formatting import utcnow
from shop.inventory import stock
from shop.inventory.import_files import EXPECTED_HEADER, MAX_BYTES, ImportRefused, Row, parse_file
from shop.inventory.models import StockImport
from shop.inventory.services import apply_lines, commit_changes, refused
from shop.queue import enqueue
from shop.storage import IMPORTS, StorageError, StoredFileMissing, storage

log = logging.getLogger(__name__)

CHUNK = 1000
DUPLICATE_WINDOW = timedelta(minutes=15)
# Reasons that concern a usable line (its SKU counts as seen for duplicates).
_LINE_CODES = {None, "short_reserved", "sold_not_shipped", "unknown_sku", "other_producer"}


# --- storage ----------------------------------------------------------------------------


STORE_DOWN = _l("Không lưu được tệp lúc này: kho lưu trữ tệp không phản hồi. Hãy thử lại sau ít phút.")


def _collect(body_chunks) -> tuple[bytes, str]:
    """The chunks as bytes with their SHA-256, refusing more than MAX_BYTES without reading on."""
    digest, size, body = hashlib.sha256(), 0, bytearray()
    for chunk in body_chunks:
        size += len(chunk)
        if size > MAX_BYTES:
            raise ImportRefused(_l("Tệp lớn hơn 5 MB; hãy chia nhỏ."))
        digest.update(chunk)
        body.extend(chunk)
    return bytes(body), digest.hexdigest()


def store_file(producer_id: int, data: bytes, suffix: str) -> str:
    """Put a file into the shared store, where any worker reads it; returns its name."""
    name = f"{producer_id}/{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(6)}{suffix}"
    try:
        storage().put(IMPORTS, name, data, "text/csv" if suffix == ".csv" else "application/json")
    except StorageError:
        log.error("could not store the import file %s", name, exc_info=True)
        raise ImportRefused(STORE_DOWN) from None
    return name


def _read(imp: StockImport) -> bytes:
    """The stored file, from whichever node stored it (StoredFileMissing when gone;
    StorageError while the store is down, which the task retries)."""
    return storage().get(IMPORTS, imp.file_path)


def _remove(relative: str) -> None:
    try:
        storage().delete(IMPORTS, relative)
    except StorageError:  # a file left behind costs space, not correctness
        log.warning("could not remove the import file %s", relative, exc_info=True)


# --- uploads (portal) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    stock_import: StockImport
    duplicate: bool  # True: the same file was imported moments ago; nothing new queued


def create_upload(producer_id: int, user_id: int | None, filename: str, stream) -> Upload:
    """Check an uploaded CSV as a whole, store it in the shared store (so a worker on
    another machine can read it) and queue its import (commits). `stream` is read in
    chunks; more than MAX_BYTES is refused without reading on."""
    body, content_hash = _collect(iter(lambda: stream.read(64 * 1024), b""))
    if not body:
        raise ImportRefused(_l("Tệp trống."))
    parsed = parse_file(body)
    if parsed.fmt != "csv":
        raise ImportRefused(_l("Hãy tải lên tệp CSV có tiêu đề “%(expected)s”.", expected=EXPECTED_HEADER))
    earlier = db.session.scalars(
        select(StockImport)
        .where(
            StockImport.producer_id == producer_id,
            StockImport.source == "upload",
            StockImport.content_hash == content_hash,
            StockImport.status != "failed",
            StockImport.created_at >= utcnow() - DUPLICATE_WINDOW,
        )
        .order_by(StockImport.id.desc())
    ).first()
    if earlier is not None:
        return Upload(earlier, duplicate=True)
    relative = store_file(producer_id, body, ".csv")
    imp = StockImport(
        producer_id=producer_id,
        source="upload",
        filename=os.path.basename(filename or "")[:200] or "stock.csv",
        file_path=relative,
        content_hash=content_hash,
        status="queued",
        total_rows=len(parsed.rows),
        created_by_id=user_id,
    )
    db.session.add(imp)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _remove(relative)
        raise
    enqueue("inventory.process_import", imp.id)
    return Upload(imp, duplicate=False)


# --- processing (worker) -------------------------------------------------------------------


def _lock_import(import_id: int) -> tuple[str, int]:
    """Lock the import row (so two runners take chunks in turn) and read its state."""
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(
            update(StockImport)
            .where(StockImport.id == import_id)
            .values(processed_rows=StockImport.processed_rows)
            .execution_options(synchronize_session=False)
        )
    stmt = select(StockImport.status, StockImport.processed_rows).where(StockImport.id == import_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    status, processed = db.session.execute(stmt).one()
    return status, processed


def _seen_in(report: list) -> dict[str, int]:
    seen: dict[str, int] = {}
    for ref, sku, status, code, _n, _available in report:
        if sku and (status != stock.REJECTED or code in _LINE_CODES):
            seen.setdefault(sku, ref)
    return seen


def _apply_chunk(producer_id: int, rows: list[Row], seen: dict[str, int]):
    lines, results = [], []
    for row in rows:
        if row.problem:
            results.append(refused(stock.LineRefused(row.ref, stock.safe_echo(row.sku), row.problem)))
            continue
        checked = stock.check_line(row.ref, row.sku, row.quantity, row.price)
        if isinstance(checked, stock.LineRefused):
            results.append(refused(checked))
        else:
            lines.append(checked)
    lines, duplicates = stock.first_occurrences(lines, seen)
    results += [refused(d) for d in duplicates]
    applied = apply_lines(producer_id, lines)
    results += applied.results
    entries = []
    for r in sorted(results, key=lambda r: r.ref):
        status = stock.REJECTED if r.status == stock.UNKNOWN else r.status
        entries.append([r.ref, r.sku, status, r.code, r.n, r.available])
    return entries, applied.product_ids


def _fail(import_id: int, message: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(StockImport)
        .where(StockImport.id == import_id)
        .values(status="failed", error=message[:2000], finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def process_import(import_id: int) -> str:
    """Apply a queued import chunk by chunk; safe to run twice or side by side (a
    second run finds it done, or takes the chunks the first has not). A run that
    died is resumed from `processed_rows` when the task is delivered again."""
    imp = db.session.get(StockImport, import_id)
    if imp is None:
        return "missing"
    if imp.status in ("done", "failed"):
        return imp.status
    producer_id = imp.producer_id
    db.session.execute(
        update(StockImport)
        .where(StockImport.id == import_id, StockImport.status == "queued")
        .values(status="running")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    try:
        parsed = parse_file(_read(imp))
    except ImportRefused as err:
        _fail(import_id, err.message)
        return "failed"
    except StoredFileMissing:
        _fail(import_id, "Không đọc được tệp đã lưu; hãy tải lên lại.")
        return "failed"
    rows = parsed.rows
    report = json.loads(imp.report or "[]")
    seen = _seen_in(report)
    position = imp.processed_rows
    while True:
        status, processed = _lock_import(import_id)
        if status != "running":
            db.session.rollback()
            return status
        if processed != position:  # another run did a chunk meanwhile: carry on after it
            db.session.rollback()
            imp = db.session.get_one(StockImport, import_id, populate_existing=True)
            report, position = json.loads(imp.report or "[]"), imp.processed_rows
            seen = _seen_in(report)
            continue
        if position >= len(rows):
            db.session.execute(
                update(StockImport)
                .where(StockImport.id == import_id)
                .values(status="done", finished_at=utcnow(), total_rows=len(rows))
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            return "done"
        chunk = rows[position : position + CHUNK]
        entries, product_ids = _apply_chunk(producer_id, chunk, seen)
        report += entries
        counts = {s: sum(1 for e in entries if e[2] == s) for s in (stock.APPLIED, stock.UNCHANGED, stock.REJECTED)}
        position += len(chunk)
        db.session.execute(
            update(StockImport)
            .where(StockImport.id == import_id)
            .values(
                processed_rows=position,
                total_rows=len(rows),
                applied=StockImport.applied + counts[stock.APPLIED],
                unchanged=StockImport.unchanged + counts[stock.UNCHANGED],
                rejected=StockImport.rejected + counts[stock.REJECTED],
                report=json.dumps(report, ensure_ascii=False, separators=(",", ":")),
            )
            .execution_options(synchronize_session=False)
        )
        commit_changes(product_ids)


def waiting_import_ids(now: datetime | None = None, older_than: timedelta = timedelta(minutes=1)) -> list[int]:
    """Imports still queued a minute after they were made: their task was lost."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(StockImport.id)
            .where(StockImport.status == "queued", StockImport.created_at < now - older_than)
            .order_by(StockImport.id)
            .limit(100)
        )
    )
