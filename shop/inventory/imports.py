"""Stock files: CSV uploaded in the portal, CSV or JSON pulled from a producer's
feed. Both become a StockImport row that the worker processes in chunks of
CHUNK rows, each chunk in its own transaction, through the same
`services.apply_lines` as the API; the row keeps the progress and a per-row
report.

Quantities are absolute (stock on hand), so applying a file twice sets the same
values; still, the same upload within DUPLICATE_WINDOW is answered with the
earlier import, an unchanged feed is not applied again (it would bring back
units shipped since), and processing the same import twice does nothing the
second time.

Report entries are compact lists: [row, sku, status, reason code, n, available],
status one of applied / unchanged / rejected (unknown SKUs are rejected with
reason unknown_sku or other_producer)."""

import csv
import hashlib
import io
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from shop.database import rowcount
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.inventory import feeds, stock
from shop.inventory.models import ProducerFeed, StockImport
from shop.inventory.services import apply_lines, commit_changes, refused
from shop.queue import enqueue
from shop.storage import IMPORTS, StorageError, StoredFileMissing, storage

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_ROWS_TEXT = f"{MAX_ROWS:,}".replace(",", ".")
CHUNK = 1000
DUPLICATE_WINDOW = timedelta(minutes=15)
EXPECTED_HEADER = "sku,quantity,price"
COLUMNS = ("sku", "quantity", "price")
FEED_INTERVALS = (5, 15, 30, 60, 180, 360, 720, 1440)  # minutes
# Reasons that concern a usable line (its SKU counts as seen for duplicates).
_LINE_CODES = {None, "short_reserved", "sold_not_shipped", "unknown_sku", "other_producer"}


class ImportRefused(ShopError):
    """The whole file is refused; `message` says why and what to do."""

    code = "import_refused"


# --- reading a file -------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    ref: int  # line number in a CSV, item number in JSON
    sku: object
    quantity: object
    price: object = None
    problem: str | None = None  # a reason code when the row cannot even be read


@dataclass(frozen=True)
class ParsedFile:
    fmt: str  # csv | json
    rows: list[Row]


def _decode(body: bytes) -> str:
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            return body.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            _l("Tệp không phải văn bản UTF-8. Trong Excel hãy chọn Lưu thành “CSV UTF-8 (Comma delimited)”.")
        ) from None
    if "\x00" in text:
        raise ImportRefused(_l("Tệp không phải CSV (có ký tự nhị phân)."))
    return text


def _header_refused(found: str) -> ImportRefused:
    return ImportRefused(
        _l(
            "Tiêu đề cột phải là “%(expected)s” (cột price không bắt buộc); tệp có “%(found)s”.",
            expected=EXPECTED_HEADER,
            found=found[:120],
        )
    )


def _parse_csv(text: str) -> ParsedFile:
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        reader = csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise ImportRefused(_l("Tệp trống."))
        names = [cell.strip().lower() for cell in header]
        while names and not names[-1]:
            names.pop()
        if len(set(names)) != len(names) or not {"sku", "quantity"} <= set(names) <= set(COLUMNS):
            raise _header_refused(first)
        where = {name: names.index(name) for name in names}
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportRefused(_l("Tệp có hơn %(n)s dòng; hãy chia nhỏ.", n=MAX_ROWS_TEXT))
            ref = reader.line_num
            used = list(cells)
            while len(used) > len(names) and not used[-1].strip():
                used.pop()
            if len(used) > len(names):
                rows.append(Row(ref, cells[where["sku"]], None, problem="too_many_columns"))
                continue

            def cell(name, used=used):
                i = where.get(name)
                return used[i] if i is not None and i < len(used) else None

            rows.append(Row(ref, cell("sku"), cell("quantity"), cell("price")))
    except csv.Error:
        raise ImportRefused(_l("Không đọc được tệp CSV (dòng hỏng hoặc ô quá dài).")) from None
    return ParsedFile("csv", rows)


def _parse_json(text: str) -> ParsedFile:
    shape = '{"items": [{"sku": …, "quantity": …, "price": …}]}'
    try:
        data = json.loads(text)
    except ValueError:
        raise ImportRefused(_l("JSON không hợp lệ. JSON phải có dạng %(shape)s.", shape=shape)) from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ImportRefused(_l("JSON phải có dạng %(shape)s.", shape=shape))
    if len(items) > MAX_ROWS:
        raise ImportRefused(_l("Nguồn có hơn %(n)s mục; hãy chia nhỏ.", n=MAX_ROWS_TEXT))
    rows = []
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            rows.append(Row(i, item.get("sku"), item.get("quantity"), item.get("price")))
        else:
            rows.append(Row(i, None, None, problem="bad_item"))
    return ParsedFile("json", rows)


def parse_file(body: bytes, content_type: str = "") -> ParsedFile:
    """Rows of a CSV (header sku,quantity[,price]; comma, semicolon or tab) or a JSON
    {"items": [...]}; ImportRefused when the file as a whole cannot be used."""
    if "html" in content_type:
        raise ImportRefused(_l("Nguồn trả về một trang HTML, không phải tệp CSV/JSON."))
    text = _decode(body)
    start = text.lstrip()[:1]
    if start == "<":
        raise ImportRefused(_l("Nguồn trả về một trang HTML, không phải tệp CSV/JSON."))
    if not start:
        raise ImportRefused(_l("Tệp trống."))
    if start in "{[" or content_type == "application/json":
        return _parse_json(text)
    return _parse_csv(text)


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


def _store(producer_id: int, data: bytes, suffix: str) -> str:
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
    relative = _store(producer_id, body, ".csv")
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


# --- reads (portal) ---------------------------------------------------------------------------


def import_of(producer_id: int, import_id: int) -> StockImport:
    imp = db.session.scalars(
        select(StockImport).where(StockImport.id == import_id, StockImport.producer_id == producer_id)
    ).first()
    if imp is None:
        raise NotFound(_l("Không tìm thấy lần nhập kho này."))
    return imp


@dataclass(frozen=True)
class ReportRow:
    row: int
    sku: str
    status: str
    code: str | None
    n: int | None
    available: int | None

    @property
    def reason(self) -> str | None:
        return stock.reason_text(self.code, self.n)


def report_rows(imp: StockImport, status: str | None = None) -> list[ReportRow]:
    rows = [ReportRow(*entry) for entry in json.loads(imp.report or "[]")]
    return [r for r in rows if status is None or r.status == status]


def report_csv(imp: StockImport) -> str:
    """The report as CSV for a spreadsheet; cells that would run as formulas get a leading '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "sku", "status", "reason", "available"])
    for r in report_rows(imp):
        writer.writerow(
            [r.row, stock.safe_echo(r.sku), r.status, r.reason or "", "" if r.available is None else r.available]
        )
    return "\ufeff" + out.getvalue()


def sync_log(producer_id: int, page: int = 1, per_page: int = 20) -> tuple[list[StockImport], int]:
    total = db.session.scalar(select(func.count(StockImport.id)).where(StockImport.producer_id == producer_id))
    rows = db.session.scalars(
        select(StockImport)
        .where(StockImport.producer_id == producer_id)
        .order_by(StockImport.created_at.desc(), StockImport.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


# --- feeds -----------------------------------------------------------------------------------


def _allow_private() -> bool:
    return bool(current_app.config.get("FEED_ALLOW_PRIVATE_HOSTS", False))


def feed_of(producer_id: int) -> ProducerFeed | None:
    return db.session.scalars(select(ProducerFeed).where(ProducerFeed.producer_id == producer_id)).first()


def save_feed(producer_id: int, url: str, interval_minutes: int, active: bool) -> ProducerFeed:
    """Register or change the producer's feed (commits)."""
    try:
        url = feeds.check_url(url, allow_private=_allow_private())
    except feeds.FeedError as err:
        raise ShopError(err.message, code=err.code) from None
    if interval_minutes not in FEED_INTERVALS:
        raise ShopError(_l("Chọn một chu kỳ lấy dữ liệu trong danh sách."), code="bad_interval")
    feed = feed_of(producer_id)
    if feed is None:
        feed = ProducerFeed(producer_id=producer_id, format="csv")
        db.session.add(feed)
    if feed.url != url:
        feed.last_fetched_at, feed.last_status, feed.last_error = None, "", ""
    feed.url, feed.interval_minutes, feed.active = url, interval_minutes, active
    feed.format = "json" if url.lower().split("?")[0].endswith(".json") else feed.format or "csv"
    db.session.commit()
    return feed


def delete_feed(producer_id: int) -> None:
    feed = feed_of(producer_id)
    if feed is not None:
        db.session.delete(feed)
        db.session.commit()


def request_feed_pull(producer_id: int) -> None:
    """Fetch the feed as soon as the worker can, whatever its interval (commits)."""
    feed = feed_of(producer_id)
    if feed is None:
        raise NotFound(_l("Chưa đăng ký nguồn dữ liệu."))
    feed.last_fetched_at = None
    db.session.commit()
    enqueue("inventory.pull_feed", feed.id)


def _is_due(feed: ProducerFeed, now: datetime) -> bool:
    last = as_utc(feed.last_fetched_at)
    return last is None or last + timedelta(minutes=feed.interval_minutes) <= now


def due_feed_ids(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    feeds_ = db.session.scalars(select(ProducerFeed).where(ProducerFeed.active.is_(True)).order_by(ProducerFeed.id))
    return [f.id for f in feeds_ if _is_due(f, now)]


def _last_feed_import(producer_id: int) -> StockImport | None:
    return db.session.scalars(
        select(StockImport)
        .where(StockImport.producer_id == producer_id, StockImport.source == "feed")
        .order_by(StockImport.id.desc())
    ).first()


def _feed_failed(feed_id: int, producer_id: int, url: str, message: str, now: datetime) -> None:
    """Note the failure on the feed and in the sync log (once while it keeps failing the same way)."""
    feed = db.session.get(ProducerFeed, feed_id)
    feed.last_status, feed.last_error = "error", message
    last = _last_feed_import(producer_id)
    if last is None or last.status != "failed" or last.error != message:
        db.session.add(
            StockImport(
                producer_id=producer_id,
                source="feed",
                filename=url[:200],
                status="failed",
                error=message,
                created_at=now,
                finished_at=now,
            )
        )
    db.session.commit()


def pull_feed(feed_id: int, now: datetime | None = None) -> str:
    """Fetch one feed if it is due and apply it like an upload. Returns "applied",
    "unchanged" (same content as the last applied pull), "error", "not_due" or "inactive"."""
    now = now or utcnow()
    feed = db.session.get(ProducerFeed, feed_id)
    if feed is None or not feed.active:
        return "inactive"
    if not _is_due(feed, now):
        return "not_due"
    last_fetched, producer_id, url = feed.last_fetched_at, feed.producer_id, feed.url
    # Claim this round: of two runs that read the same last_fetched_at, one moves it.
    claimed = rowcount(
        db.session.execute(
            update(ProducerFeed)
            .where(
                ProducerFeed.id == feed_id,
                ProducerFeed.last_fetched_at.is_(None)
                if last_fetched is None
                else ProducerFeed.last_fetched_at == last_fetched,
            )
            .values(last_fetched_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if not claimed:
        return "not_due"
    config = current_app.config
    try:
        fetched = feeds.fetch(
            url,
            timeout=float(config.get("FEED_TIMEOUT_SECONDS", 5.0)),
            max_bytes=MAX_BYTES,
            deadline_seconds=float(config.get("FEED_DEADLINE_SECONDS", 30.0)),
            allow_private=_allow_private(),
        )
        parsed = parse_file(fetched.body, fetched.content_type)
    except (feeds.FeedError, ImportRefused) as err:
        _feed_failed(feed_id, producer_id, url, err.message, now)
        return "error"
    content_hash = hashlib.sha256(fetched.body).hexdigest()
    last = _last_feed_import(producer_id)
    feed = db.session.get(ProducerFeed, feed_id)
    if last is not None and last.status == "done" and last.content_hash == content_hash:
        feed.last_status, feed.last_error = "unchanged", ""
        db.session.commit()
        return "unchanged"
    try:
        relative = _store(producer_id, fetched.body, "." + parsed.fmt)
    except ImportRefused as err:
        _feed_failed(feed_id, producer_id, url, err.message, now)
        return "error"
    imp = StockImport(
        producer_id=producer_id,
        source="feed",
        filename=url[:200],
        file_path=relative,
        content_hash=content_hash,
        status="queued",
        total_rows=len(parsed.rows),
        created_at=now,
    )
    db.session.add(imp)
    feed.format, feed.last_status, feed.last_error = parsed.fmt, "ok", ""
    db.session.commit()
    process_import(imp.id)
    return "applied"
