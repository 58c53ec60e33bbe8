"""Portal pages for keeping stock in sync: API tokens (/producer/api), stock
files and the producer's feed (/producer/nhap-kho) and the sync log
(/producer/nhat-ky-dong-bo). Everything is scoped to the producer the user
acts for; another producer's import or token is a 404."""

from flask import Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, SelectChoice, SelectField, StringField  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
from wtforms.validators import InputRequired, Length

from shop.errors import ShopError
from shop.forms import Form as FlaskForm
from shop.inventory import feed_services, import_files, import_queries, import_services, stock, tokens
from shop.paging import page_count
from shop.portal import bp
from shop.portal.access import producer_ids, producer_required

UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields

IMPORT_STATUS_LABELS = {
    "queued": _l("Đang chờ"),
    "running": _l("Đang xử lý"),
    "done": _l("Hoàn tất"),
    "failed": _l("Thất bại"),
}
SOURCE_LABELS = {"upload": _l("Tải tệp lên"), "feed": _l("Nguồn tự động")}
ROW_STATUS_LABELS = {"applied": _l("Đã cập nhật"), "unchanged": _l("Không đổi"), "rejected": _l("Bị từ chối")}
FEED_STATUS_LABELS = {"ok": _l("Đã cập nhật"), "unchanged": _l("Không có thay đổi"), "error": _l("Lỗi")}
INTERVAL_LABELS = {
    5: _l("5 phút"),
    15: _l("15 phút"),
    30: _l("30 phút"),
    60: _l("1 giờ"),
    180: _l("3 giờ"),
    360: _l("6 giờ"),
    720: _l("12 giờ"),
    1440: _l("24 giờ"),
}
EXPIRY_LABELS = {"": _l("Không hết hạn"), "30": _l("30 ngày"), "90": _l("90 ngày"), "365": _l("1 năm")}
# The reasons of shop.inventory.stock, marked for translation here (they are shown in reports).
REASON_MSGIDS = {
    "sold_not_shipped": _l("đang có %(n)s sản phẩm đã bán chưa giao"),
    "short_reserved": _l("%(n)s sản phẩm đang giữ cho đơn chờ thanh toán vượt quá tồn kho"),
    "bad_quantity": _l("số lượng phải là số nguyên từ 0 trở lên"),
    "negative_quantity": _l("số lượng không được âm"),
    "quantity_too_large": _l("số lượng quá lớn (tối đa %(n)s)"),
    "bad_price": _l("giá phải là số nguyên đồng lớn hơn 0"),
    "price_too_large": _l("giá quá lớn (tối đa %(n)s đồng)"),
    "missing_sku": _l("thiếu SKU"),
    "bad_sku": _l("SKU không hợp lệ"),
    "formula": _l("ô bắt đầu bằng =, +, -, @ bị từ chối (có thể là công thức)"),
    "nothing_to_change": _l("thiếu số lượng (và giá)"),
    "too_many_columns": _l("dòng có nhiều cột hơn tiêu đề"),
    "bad_item": _l("mục không phải một đối tượng {sku, quantity}"),
    "duplicate_sku": _l("SKU đã xuất hiện ở dòng %(n)s"),
    "unknown_sku": _l("không có SKU này"),
    "other_producer": _l("SKU thuộc nhà sản xuất khác"),
}
assert REASON_MSGIDS.keys() == stock.REASONS.keys()


class CsvTooLarge(RequestEntityTooLarge):
    """A stock file over the limit, refused from its Content-Length before it is read."""


class TokenForm(FlaskForm):
    name = StringField(
        _l("Tên token"),
        validators=[InputRequired(_l("Đặt tên cho token.")), Length(max=80)],
        render_kw={"maxlength": 80},
    )
    expires = SelectField(_l("Thời hạn"), choices=[SelectChoice(k, v) for k, v in EXPIRY_LABELS.items()], default="")


class UploadForm(FlaskForm):
    file = FileField(_l("Tệp CSV"), validators=[FileRequired(_l("Chọn tệp CSV."))])


class FeedForm(FlaskForm):
    url = StringField(
        _l("Địa chỉ nguồn (URL)"),
        validators=[InputRequired(_l("Nhập địa chỉ nguồn.")), Length(max=500)],
        render_kw={"inputmode": "url", "autocomplete": "off", "placeholder": "https://"},
    )
    interval = SelectField(
        _l("Lấy dữ liệu mỗi"), choices=[SelectChoice(str(k), v) for k, v in INTERVAL_LABELS.items()], default="60"
    )
    active = BooleanField(_l("Đang bật"), default=True)


class ButtonForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _pid() -> int:
    return producer_ids()[0]


@bp.context_processor
def sync_helpers():
    def reason(code, n=None):
        return str(REASON_MSGIDS[code]) % {"n": n} if code in REASON_MSGIDS else ""

    return {
        "import_status_label": lambda s: str(IMPORT_STATUS_LABELS.get(s, s)),
        "import_source_label": lambda s: str(SOURCE_LABELS.get(s, s)),
        "row_status_label": lambda s: str(ROW_STATUS_LABELS.get(s, s)),
        "feed_status_label": lambda s: str(FEED_STATUS_LABELS.get(s, s)),
        "interval_label": lambda m: str(INTERVAL_LABELS.get(m, m)),
        "stock_reason": reason,
    }


# --- upload size: refused before anything reads the body ------------------------------------


@bp.url_value_preprocessor
def limit_stock_upload(endpoint, _values):
    # Runs before CSRF protection reads the form, so a 100 MB upload costs nothing.
    if endpoint == "portal.sync_stock" and request.method == "POST":
        request.max_content_length = import_files.MAX_BYTES + UPLOAD_OVERHEAD
        if (request.content_length or 0) > request.max_content_length:
            raise CsvTooLarge()


@bp.errorhandler(CsvTooLarge)
def stock_file_too_large(_err):
    message = _("Tệp lớn hơn %(mb)s MB; hãy chia thành nhiều tệp nhỏ hơn.", mb=import_files.MAX_BYTES // 2**20)
    return render_template("portal/sync/too_large.html", message=message), 413


# --- API tokens ------------------------------------------------------------------------------


def _tokens_page(form: TokenForm, new_token: str | None = None, status: int = 200):
    rows = tokens.tokens_of(_pid())
    body = render_template(
        "portal/sync/tokens.html",
        form=form,
        button=ButtonForm(),
        tokens=rows,
        new_token=new_token,
        usable=tokens.is_usable,
        api_base=url_for("producer_api.products", _external=True).removesuffix("/products"),
    )
    return body, status


@bp.route("/api", methods=["GET", "POST"])
@producer_required(owner=True)
def sync_tokens():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _row, raw = tokens.create_token(
                _pid(),
                form.name.data or "",
                created_by_id=current_user.id,
                expires_in_days=int(form.expires.data) if form.expires.data else None,
            )
        except ShopError as err:
            form.name.errors = [*form.name.errors, err.message]
            return _tokens_page(form, status=400)
        # Shown in this response only: it is not stored, so it cannot be shown again.
        return _tokens_page(TokenForm(formdata=None), new_token=raw, status=201)
    return _tokens_page(form, status=400 if form.errors else 200)


@bp.post("/api/<int:token_id>/thu-hoi")
@producer_required(owner=True)
def sync_token_revoke(token_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    token = tokens.revoke_token(_pid(), token_id)
    message = _("Đã thu hồi token “%(name)s”. Phần mềm dùng token này không còn truy cập được.", name=token.name)
    flash(message, "success")
    return redirect(url_for(".sync_tokens"))


# --- stock files and the feed ------------------------------------------------------------------


def _feed_form(feed) -> FeedForm:
    if feed is None:
        return FeedForm(formdata=None)
    return FeedForm(formdata=None, url=feed.url, interval=str(feed.interval_minutes), active=feed.active)


def _stock_page(upload_form: UploadForm, feed_form: FeedForm | None = None, status: int = 200):
    feed = feed_services.feed_of(_pid())
    recent, _total = import_queries.sync_log(_pid(), 1, 5)
    body = render_template(
        "portal/sync/stock.html",
        upload_form=upload_form,
        feed_form=feed_form or _feed_form(feed),
        button=ButtonForm(),
        feed=feed,
        recent=recent,
        max_rows=import_files.MAX_ROWS,
        max_mb=import_files.MAX_BYTES // 2**20,
        expected_header=import_files.EXPECTED_HEADER,
    )
    return body, status


@bp.route("/nhap-kho", methods=["GET", "POST"])
@producer_required
def sync_stock():
    form = UploadForm()
    if not form.validate_on_submit():
        return _stock_page(form, status=400 if form.errors else 200)
    storage = form.file.data
    try:
        upload = import_services.create_upload(_pid(), current_user.id, storage.filename or "", storage.stream)
    except import_files.ImportRefused as err:
        form.file.errors = [*form.file.errors, err.message]
        return _stock_page(form, status=400)
    if upload.duplicate:
        flash(_("Tệp này đã được nhập lúc nãy; không nhập lại. Xem báo cáo bên dưới."), "info")
    return redirect(url_for(".sync_import", import_id=upload.stock_import.id))


@bp.post("/nhap-kho/nguon")
@producer_required
def sync_feed_save():
    form = FeedForm()
    if form.validate_on_submit():
        try:
            feed_services.save_feed(_pid(), form.url.data or "", int(form.interval.data), form.active.data)
        except ShopError as err:
            form.url.errors = [*form.url.errors, err.message]
        else:
            flash(_("Đã lưu nguồn dữ liệu."), "success")
            return redirect(url_for(".sync_stock") + "#nguon")
    return _stock_page(UploadForm(formdata=None), feed_form=form, status=400)


@bp.post("/nhap-kho/nguon/lay-ngay")
@producer_required
def sync_feed_pull():
    if not ButtonForm().validate_on_submit():
        abort(400)
    feed_services.request_feed_pull(_pid())
    flash(_("Đã yêu cầu lấy dữ liệu; kết quả sẽ có trong nhật ký đồng bộ sau ít phút."), "success")
    return redirect(url_for(".sync_stock") + "#nguon")


@bp.post("/nhap-kho/nguon/xoa")
@producer_required
def sync_feed_delete():
    if not ButtonForm().validate_on_submit():
        abort(400)
    feed_services.delete_feed(_pid())
    flash(_("Đã xoá nguồn dữ liệu."), "success")
    return redirect(url_for(".sync_stock") + "#nguon")


# --- one import and the log ---------------------------------------------------------------------


def _status_json(imp) -> dict:
    total = imp.total_rows or 0
    return {
        "id": imp.id,
        "status": imp.status,
        "status_label": str(IMPORT_STATUS_LABELS.get(imp.status, imp.status)),
        "processed_rows": imp.processed_rows,
        "total_rows": total,
        "percent": 100 if imp.status in ("done", "failed") else (100 * imp.processed_rows // total if total else 0),
        "applied": imp.applied,
        "unchanged": imp.unchanged,
        "rejected": imp.rejected,
        "finished": imp.status in ("done", "failed"),
    }


@bp.get("/nhap-kho/<int:import_id>")
@producer_required
def sync_import(import_id: int):
    imp = import_queries.import_of(_pid(), import_id)
    rows = import_queries.report_rows(imp) if imp.status in ("done", "running") else []
    shown = request.args.get("hien") if request.args.get("hien") in ("all",) else "rejected"
    listed = rows if shown == "all" else [r for r in rows if r.status == "rejected"]
    return render_template(
        "portal/sync/import.html",
        imp=imp,
        progress=_status_json(imp),
        listed=listed[:2000],
        listed_total=len(listed),
        shown=shown,
    )


@bp.get("/nhap-kho/<int:import_id>/trang-thai")
@producer_required
def sync_import_status(import_id: int):
    return jsonify(_status_json(import_queries.import_of(_pid(), import_id)))


@bp.get("/nhap-kho/<int:import_id>/bao-cao.csv")
@producer_required
def sync_import_csv(import_id: int):
    imp = import_queries.import_of(_pid(), import_id)
    return Response(
        import_queries.report_csv(imp),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="bao-cao-nhap-kho-{imp.id}.csv"'},
    )


@bp.get("/nhat-ky-dong-bo")
@producer_required
def sync_log():
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1
    per_page = 20
    rows, total = import_queries.sync_log(_pid(), page, per_page)
    return render_template(
        "portal/sync/log.html",
        rows=rows,
        page=page,
        pages=page_count(total, per_page),
        feed=feed_services.feed_of(_pid()),
        producer=g.producer,
    )
