"""Product photos and certificate documents are judged by their content."""

import io

import pytest
from PIL import Image

from shop.portal import images
from shop.portal.images import RejectedFile, check_document, process_product_image


def picture(size=(800, 600), fmt="JPEG", mode="RGB", color=(200, 120, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def reason(fn, data: bytes) -> str:
    with pytest.raises(RejectedFile) as caught:
        fn(data)
    return caught.value.reason


def test_a_large_photo_is_shrunk_to_1600_px_with_a_400_px_square_thumbnail():
    result = process_product_image(picture((4000, 3000)))
    full, thumb = opened(result.full), opened(result.thumb)
    assert full.format == "JPEG" and full.size == (1600, 1200) == (result.width, result.height)
    assert thumb.format == "JPEG" and thumb.size == (400, 400)


def test_a_small_photo_is_never_enlarged():
    result = process_product_image(picture((500, 300)))
    assert opened(result.full).size == (500, 300)


def test_exif_is_stripped_and_the_orientation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "Camera with GPS"
    result = process_product_image(picture((800, 600), exif=exif.tobytes()))
    full = opened(result.full)
    assert full.size == (600, 800)
    assert not full.getexif()
    assert "exif" not in full.info


def test_a_transparent_png_and_a_webp_become_rgb_jpegs():
    png = process_product_image(picture((300, 300), fmt="PNG", mode="RGBA", color=(0, 0, 0, 0)))
    assert opened(png.full).mode == "RGB"
    assert opened(png.full).getpixel((10, 10)) == (255, 255, 255)
    webp = process_product_image(picture((300, 300), fmt="WEBP"))
    assert opened(webp.full).format == "JPEG"


@pytest.mark.parametrize(
    "data",
    [
        b"#!/bin/sh\nrm -rf /\n",
        b"<?php system($_GET['c']); ?>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10,
        b"%PDF-1.7\n",
    ],
    ids=["shell-script", "php", "svg", "fake-jpeg-header", "pdf"],
)
def test_anything_that_is_not_a_real_photo_is_refused(data):
    assert reason(process_product_image, data) == "not_image"


def test_a_truncated_jpeg_is_refused():
    assert reason(process_product_image, picture((800, 600))[:400]) == "not_image"


def test_a_gif_or_bmp_is_refused_even_though_pillow_reads_it():
    assert reason(process_product_image, picture((10, 10), fmt="GIF")) == "not_image"
    assert reason(process_product_image, picture((10, 10), fmt="BMP")) == "not_image"


def test_an_empty_file_is_refused():
    assert reason(process_product_image, b"") == "empty"


def test_a_file_over_20_mb_is_refused_before_it_is_opened():
    assert reason(process_product_image, b"\xff" * (images.MAX_IMAGE_BYTES + 1)) == "too_large"


@pytest.mark.parametrize("size", [(8000, 5001), (10000, 9000)], ids=["just-over", "bomb"])
def test_an_image_over_40_megapixels_is_refused(size):
    # A tiny PNG that decodes to a huge canvas: refused from its header, never decoded.
    data = picture(size, fmt="PNG", mode="1", color=0)
    assert len(data) < 200_000
    assert reason(process_product_image, data) == "too_many_pixels"


def test_a_pdf_decision_is_recognised_by_its_header():
    assert check_document(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n") == "pdf"


def test_a_photographed_decision_may_be_a_jpeg_or_png():
    assert check_document(picture((600, 800))) == "jpg"
    assert check_document(picture((600, 800), fmt="PNG")) == "png"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"<html>PDF-1.4</html>", "not_document"),
        (b"PK\x03\x04 a word file", "not_document"),
        (b"%PDF-" + b"0" * images.MAX_DOCUMENT_BYTES, "too_large"),
    ],
    ids=["empty", "html", "docx", "too-large"],
)
def test_a_document_that_is_not_a_pdf_or_image_is_refused(data, expected):
    assert reason(check_document, data) == expected
