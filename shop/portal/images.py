"""Uploaded pictures and documents, checked by what they contain, never by their name.

A product photo is opened with Pillow and re-encoded from its pixels: whatever
else the file carried (EXIF with GPS, comments, a script glued to the end) is
left behind. The storefront reads `<name>.jpg` (at most 1600 px) and
`<name>-400.jpg` (a 400 px square for cards and the cart).

Pure functions on bytes: the services decide where the results are stored.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
FULL_SIZE = 1600
THUMB_SIZE = 400
JPEG_QUALITY = 85
# Formats a phone or a scanner produces; SVG, HEIC, TIFF, BMP... are refused.
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
DOCUMENT_IMAGE_FORMATS = ("JPEG", "PNG")

# Pillow refuses images over twice this many pixels (DecompressionBombError) and
# warns above it; the check below refuses anything above it outright.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class RejectedFile(ValueError):
    """A file we will not keep; `reason` is one of: empty, too_large, too_many_pixels, not_image, not_document."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProcessedImage:
    full: bytes  # JPEG, longest side at most FULL_SIZE
    thumb: bytes  # JPEG, THUMB_SIZE square
    width: int
    height: int


def _open_checked(data: bytes, formats: tuple[str, ...], max_bytes: int) -> Image.Image:
    """A fully decoded image from `data`, or RejectedFile."""
    if not data:
        raise RejectedFile("empty")
    if len(data) > max_bytes:
        raise RejectedFile("too_large")
    with warnings.catch_warnings():
        # Between MAX_PIXELS and twice that Pillow only warns: treat it as the bomb it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as probe:
                probe.verify()  # structure and checksums, without decoding pixels
            image = Image.open(io.BytesIO(data), formats=formats)  # verify() leaves the image unusable
            if image.width * image.height > MAX_PIXELS:
                raise RejectedFile("too_many_pixels")
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise RejectedFile("too_many_pixels") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, EOFError):
            # Not an image, a truncated one, or one Pillow cannot decode: all the same to a user.
            raise RejectedFile("not_image") from None
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB pixels; transparency becomes white (JPEG has none)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif= and no icc_profile=: the saved file carries pixels only.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def process_product_image(data: bytes) -> ProcessedImage:
    """Check and re-encode a product photo: RejectedFile if it is not a usable JPEG/PNG/WebP."""
    image = _to_rgb(_open_checked(data, PHOTO_FORMATS, MAX_IMAGE_BYTES))
    full = image.copy()
    full.thumbnail((FULL_SIZE, FULL_SIZE), Image.Resampling.LANCZOS)  # only ever shrinks
    thumb = ImageOps.fit(image, (THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
    return ProcessedImage(full=_jpeg(full), thumb=_jpeg(thumb), width=full.width, height=full.height)


def check_document(data: bytes) -> str:
    """The file extension to store an OCOP decision under ("pdf", "jpg" or "png"),
    or RejectedFile. A PDF is recognised by its %PDF- header; an image must decode."""
    if not data:
        raise RejectedFile("empty")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RejectedFile("too_large")
    # The PDF specification allows the header anywhere in the first 1024 bytes;
    # every producer tool we know writes it first, and demanding that is safer.
    if data.startswith(b"%PDF-"):
        return "pdf"
    try:
        image = _open_checked(data, DOCUMENT_IMAGE_FORMATS, MAX_DOCUMENT_BYTES)
    except RejectedFile as err:
        raise RejectedFile("not_document" if err.reason == "not_image" else err.reason) from None
    return "jpg" if image.format == "JPEG" else "png"


DOCUMENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
