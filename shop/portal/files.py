"""Files of the producer portal: certificate documents and product photos go through
shop.storage. They are written before the commit and removed again if the commit
fails (`_new_files`); files of deleted rows are removed after it.
"""

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shop.extensions import db
from shop.portal import images
from shop.portal.inputs import PortalError, Upload
from shop.producers.models import Certificate
from shop.storage import CERTIFICATES, StorageError, storage

log = logging.getLogger(__name__)


REJECTION_MESSAGES = {
    "empty": lambda: _("Tệp trống (0 byte)."),
    "too_large": lambda: _("Tệp quá lớn."),
    "too_many_pixels": lambda: _("Ảnh có độ phân giải quá lớn (tối đa 40 megapixel)."),
    "not_image": lambda: _("Không phải ảnh JPEG, PNG hoặc WebP."),
    "not_document": lambda: _("Không phải tệp PDF hoặc ảnh JPEG/PNG."),
}


def _checked_document(upload: Upload | None) -> tuple[str, bytes]:
    """The uploaded decision's file extension and bytes, or a PortalError saying what is wrong."""
    if upload is None or not upload.filename:
        raise PortalError(
            _("Tải lên quyết định công nhận OCOP (PDF hoặc ảnh)."), code="document_required", field="document"
        )
    try:
        return images.check_document(upload.data), upload.data
    except images.RejectedFile as err:
        message = (
            _("Tệp quá lớn: quyết định tối đa 10 MB.")
            if err.reason == "too_large"
            else REJECTION_MESSAGES[err.reason]()
        )
        raise PortalError(message, code="invalid_document", field="document") from None


def document_file(certificate: Certificate) -> str | None:
    """The stored name of a certificate's document, when there is one in the store."""
    if not certificate.document_path:
        return None
    return certificate.document_path if storage().exists(CERTIFICATES, certificate.document_path) else None


STORE_DOWN = _l(
    "Không lưu được tệp lúc này: kho lưu trữ tệp không phản hồi. Chưa có gì thay đổi; vui lòng thử lại sau ít phút."
)


def _write(area: str, key: str, data: bytes, written: list[tuple[str, str]]) -> None:
    try:
        storage().put(area, key, data)
    except StorageError:
        log.error("could not store %s/%s", area, key, exc_info=True)
        raise PortalError(str(STORE_DOWN), code="storage_unavailable") from None
    written.append((area, key))


@contextmanager
def _new_files() -> Iterator[list[tuple[str, str]]]:
    """Collects the files a use case stores; removes them if it fails before its commit
    ends, so a failed upload leaves neither a half-saved product nor a stray file."""
    written: list[tuple[str, str]] = []
    try:
        yield written
    except BaseException:
        db.session.rollback()
        _remove_files(written)
        raise


def _remove_files(files: list[tuple[str, str]]) -> None:
    for area, key in files:
        try:
            storage().delete(area, key)
        except StorageError:  # a file left behind costs space, not correctness
            log.warning("could not remove %s/%s", area, key, exc_info=True)


def _store_document(producer_id: int, ext: str, data: bytes, written: list[tuple[str, str]]) -> str:
    relative = f"{producer_id}/{secrets.token_hex(16)}.{ext}"
    _write(CERTIFICATES, relative, data, written)
    return relative


def _thumb_of(path: str) -> str:
    return path[: -len(".jpg")] + "-400.jpg"
