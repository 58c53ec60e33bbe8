"""Flat, text-free product illustrations for the demo catalog, drawn locally with Pillow.

`draw_product_image(motif, hue, seed)` paints a soft two-colour gradient from `hue` and a simple
picture of the motif (jar, bottle, bag, ...) in the middle; `seed` adds a small tilt, offset and a
different accent colour, and the same arguments always give the same pixels.
`save_product_images` writes the 800 px JPEG and WebP plus 400 px thumbnails of both.
"""

import colorsys
import io
import math
import random
from collections.abc import Callable

from PIL import Image, ImageDraw

from shop.storage import MEDIA, storage

MOTIFS = (
    "jar",
    "bottle",
    "bag",
    "box",
    "leaf",
    "fruit",
    "fish",
    "cup",
    "basket",
    "flower",
    "plant",
    "cake",
    "rice",
    "house",
    "fabric",
    "vase",
)
FULL_SIZE = 800
THUMB_SIZE = 400
_SUPERSAMPLE = 2  # the motif is drawn at twice the size and reduced, for smooth edges

Color = tuple[int, int, int, int]


def _hsl(h: float, s: float, lum: float, a: int = 255) -> Color:
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360, min(max(lum, 0), 1), min(max(s, 0), 1))
    return (round(r * 255), round(g * 255), round(b * 255), a)


def _alpha(c: Color, a: int) -> Color:
    return (c[0], c[1], c[2], a)


class _Palette:
    """Colours for one picture: the product hue, an accent from the seed, and fixed neutrals."""

    def __init__(self, hue: int, rng: random.Random):
        self.hue = hue
        self.main = _hsl(hue, 0.58, 0.52)
        self.dark = _hsl(hue, 0.52, 0.36)
        self.deep = _hsl(hue, 0.45, 0.26)
        self.light = _hsl(hue, 0.65, 0.70)
        self.pale = _hsl(hue, 0.60, 0.86)
        accent = hue + rng.choice((150, 170, 190, 210, -40, 40))
        self.accent = _hsl(accent, 0.55, 0.50)
        self.accent_dark = _hsl(accent, 0.50, 0.36)
        self.accent_light = _hsl(accent, 0.60, 0.76)
        self.cream = (250, 244, 230, 255)
        self.white = (255, 255, 255, 255)
        self.shine = (255, 255, 255, 95)
        self.shade = (0, 0, 0, 38)
        self.green = _hsl(rng.choice((100, 115, 130)), 0.48, 0.42)
        self.green_light = _hsl(110, 0.50, 0.58)
        self.wood = _hsl(28, 0.45, 0.42)
        self.wood_dark = _hsl(25, 0.45, 0.28)
        self.kraft = _hsl(32, 0.48, 0.62)
        self.kraft_dark = _hsl(30, 0.42, 0.48)
        self.terracotta = _hsl(16, 0.55, 0.50)


class _Pen:
    """Draws on a square canvas in units of its side (0..1), through a small rotation, scale and shift.

    Every shape becomes a polygon or polyline, so the whole motif turns together without
    resampling the raster.
    """

    def __init__(self, image: Image.Image, angle: float = 0.0, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0):
        self.s = image.width
        self.d = ImageDraw.Draw(image, "RGBA")
        a = math.radians(angle)
        self._cos, self._sin = math.cos(a) * scale, math.sin(a) * scale
        self._dx, self._dy = dx, dy
        self.scale = scale

    def _p(self, x: float, y: float) -> tuple[float, float]:
        x, y = x - 0.5, y - 0.5
        return (
            (0.5 + self._dx + x * self._cos - y * self._sin) * self.s,
            (0.5 + self._dy + x * self._sin + y * self._cos) * self.s,
        )

    def _w(self, w: float) -> int:
        return max(1, round(w * self.s * self.scale))

    @staticmethod
    def _arc_pts(cx, cy, rx, ry, start, end, n=None):
        if n is None:
            n = max(8, int(abs(end - start) / 360 * 96 * min(1.0, max(rx, ry) * 6)) + 8)
        pts = []
        for i in range(n + 1):
            t = math.radians(start + (end - start) * i / n)
            pts.append((cx + rx * math.cos(t), cy + ry * math.sin(t)))
        return pts

    def poly(self, pts, fill):
        self.d.polygon([self._p(x, y) for x, y in pts], fill=fill)

    def ellipse(self, cx, cy, rx, ry, fill):
        self.poly(self._arc_pts(cx, cy, rx, ry, 0, 360)[:-1], fill)

    def circle(self, cx, cy, r, fill):
        self.ellipse(cx, cy, r, r, fill)

    def rect(self, x0, y0, x1, y1, fill, r=0.0):
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
        if r <= 0:
            self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], fill)
            return
        pts = []
        for cx, cy, a0 in ((x1 - r, y0 + r, 270), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
            pts += self._arc_pts(cx, cy, r, r, a0, a0 + 90, n=6)
        self.poly(pts, fill)

    def line(self, pts, fill, w):
        self.d.line([self._p(x, y) for x, y in pts], fill=fill, width=self._w(w), joint="curve")

    def arc(self, cx, cy, rx, ry, start, end, fill, w):
        if end < start:
            end += 360
        self.line(self._arc_pts(cx, cy, rx, ry, start, end), fill, w)

    def pie(self, cx, cy, rx, ry, start, end, fill):
        if end < start:
            end += 360
        self.poly([(cx, cy)] + self._arc_pts(cx, cy, rx, ry, start, end), fill)

    def chord(self, cx, cy, rx, ry, start, end, fill):
        if end < start:
            end += 360
        self.poly(self._arc_pts(cx, cy, rx, ry, start, end), fill)


def _blade(bx, by, angle, length, width, shape=0.8, n=28):
    """Leaf or petal outline from its base along `angle` (degrees, 0 = right, 90 = down)."""
    a = math.radians(angle)
    ux, uy = math.cos(a), math.sin(a)
    px, py = -uy, ux
    side1, side2 = [], []
    for i in range(n + 1):
        t = i / n
        half = width / 2 * math.sin(math.pi * t**shape) ** 0.85
        cx, cy = bx + ux * length * t, by + uy * length * t
        side1.append((cx + px * half, cy + py * half))
        side2.append((cx - px * half, cy - py * half))
    return side1 + side2[::-1]


def _leaf(pen: _Pen, bx, by, angle, length, width, fill, vein):
    pen.poly(_blade(bx, by, angle, length, width), fill)
    a = math.radians(angle)
    pen.line([(bx, by), (bx + math.cos(a) * length * 0.88, by + math.sin(a) * length * 0.88)], vein, 0.006)


def _profile(pts, cx, steps=8):
    """Symmetric outline from (y, half_width) keyframes, eased between frames (vases, bottles)."""
    right = []
    for (y0, w0), (y1, w1) in zip(pts, pts[1:], strict=False):
        for i in range(steps):
            t = i / steps
            e = (1 - math.cos(math.pi * t)) / 2
            right.append((cx + w0 + (w1 - w0) * e, y0 + (y1 - y0) * t))
    right.append((cx + pts[-1][1], pts[-1][0]))
    left = [(2 * cx - x, y) for x, y in reversed(right)]
    return right + left


# ---- motifs: each draws around (0.5, 0.5) within roughly 0.2..0.8 ----


def _jar(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.805, 0.2, 0.035, c.shade)
    pen.rect(0.3, 0.37, 0.7, 0.8, c.main, r=0.07)
    pen.rect(0.33, 0.40, 0.67, 0.47, c.light, r=0.03)  # shoulder glow
    pen.rect(0.3, 0.52, 0.7, 0.7, c.cream)  # label
    pen.rect(0.3, 0.52, 0.7, 0.54, c.accent)
    pen.rect(0.3, 0.68, 0.7, 0.70, c.accent)
    pen.circle(0.5, 0.61, 0.045, c.accent_light)
    _leaf(pen, 0.47, 0.63, -50, 0.07, 0.035, c.accent, c.accent_light)
    pen.rect(0.34, 0.4, 0.37, 0.76, c.shine, r=0.015)
    pen.rect(0.35, 0.335, 0.65, 0.385, c.main, r=0.01)  # neck
    pen.rect(0.32, 0.25, 0.68, 0.345, c.accent_dark, r=0.025)  # lid
    for i in range(7):
        x = 0.355 + i * 0.048
        pen.rect(x, 0.265, x + 0.016, 0.33, _alpha(c.accent, 200), r=0.006)
    if rng.random() < 0.6:  # cloth cover tied on the lid
        pen.poly([(0.3, 0.33), (0.7, 0.33), (0.66, 0.38), (0.34, 0.38)], c.accent_light)
        pen.rect(0.33, 0.355, 0.67, 0.372, c.accent_dark)


def _bottle(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.85, 0.16, 0.03, c.shade)
    body = _profile([(0.2, 0.045), (0.34, 0.045), (0.44, 0.125), (0.84, 0.125)], 0.5)
    pen.poly(body, c.main)
    pen.rect(0.375, 0.78, 0.625, 0.86, c.main, r=0.04)
    pen.rect(0.45, 0.125, 0.55, 0.215, c.accent_dark, r=0.015)  # cap
    pen.rect(0.445, 0.2, 0.555, 0.225, c.accent, r=0.008)
    pen.rect(0.375, 0.54, 0.625, 0.74, c.cream)  # label
    pen.rect(0.375, 0.555, 0.625, 0.57, c.accent)
    pen.ellipse(0.5, 0.65, 0.06, 0.05, c.accent_light)
    pen.circle(0.5, 0.65, 0.022, c.accent)
    pen.rect(0.395, 0.46, 0.42, 0.82, c.shine, r=0.012)
    pen.rect(0.465, 0.24, 0.48, 0.36, c.shine, r=0.006)


def _bag(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.83, 0.22, 0.03, c.shade)
    pen.arc(0.5, 0.32, 0.1, 0.11, 180, 360, c.kraft_dark, 0.014)  # handle
    pen.poly([(0.28, 0.3), (0.72, 0.3), (0.75, 0.83), (0.25, 0.83)], c.kraft)
    pen.poly([(0.62, 0.3), (0.72, 0.3), (0.75, 0.83), (0.66, 0.83)], c.kraft_dark)  # side gusset
    for x in (0.44, 0.56):
        pen.circle(x, 0.36, 0.012, c.deep)
    pen.poly([(0.28, 0.3), (0.72, 0.3), (0.725, 0.345), (0.275, 0.345)], c.kraft_dark)  # folded top
    pen.rect(0.32, 0.45, 0.62, 0.72, c.main, r=0.02)  # label
    pen.circle(0.47, 0.585, 0.075, c.light)
    pen.circle(0.47, 0.585, 0.045, c.accent)
    pen.rect(0.34, 0.69, 0.6, 0.7, c.cream)


def _box(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.81, 0.24, 0.03, c.shade)
    pen.rect(0.27, 0.46, 0.73, 0.8, c.main, r=0.012)
    pen.rect(0.27, 0.46, 0.73, 0.5, c.dark)  # lid shadow
    pen.rect(0.24, 0.37, 0.76, 0.47, c.light, r=0.015)
    pen.rect(0.46, 0.37, 0.54, 0.8, c.accent)
    pen.rect(0.24, 0.405, 0.76, 0.435, c.accent)
    bow = c.accent_dark
    pen.poly([(0.5, 0.37), (0.36, 0.27), (0.34, 0.35)], bow)
    pen.poly([(0.5, 0.37), (0.64, 0.27), (0.66, 0.35)], bow)
    pen.ellipse(0.395, 0.315, 0.06, 0.045, c.accent)
    pen.ellipse(0.605, 0.315, 0.06, 0.045, c.accent)
    pen.circle(0.5, 0.365, 0.03, bow)
    pen.rect(0.3, 0.52, 0.32, 0.76, c.shine, r=0.008)


def _leaves(pen: _Pen, c: _Palette, rng: random.Random):
    stem = c.deep
    pen.line([(0.5, 0.85), (0.5, 0.62), (0.52, 0.42), (0.55, 0.26)], stem, 0.012)
    _leaf(pen, 0.5, 0.66, 200, 0.3, 0.16, c.dark, c.light)
    _leaf(pen, 0.505, 0.6, -20, 0.3, 0.16, c.main, c.light)
    _leaf(pen, 0.515, 0.46, 215, 0.22, 0.12, c.main, c.light)
    _leaf(pen, 0.525, 0.42, -35, 0.2, 0.11, c.dark, c.light)
    _leaf(pen, 0.55, 0.27, -85, 0.11, 0.06, c.light, c.pale)  # bud
    _leaf(pen, 0.545, 0.3, -110, 0.08, 0.045, c.light, c.pale)


def _fruit(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.52, 0.8, 0.24, 0.035, c.shade)
    if rng.random() < 0.5:  # a second fruit behind
        pen.circle(0.66, 0.64, 0.14, c.dark)
        pen.circle(0.64, 0.62, 0.12, c.main)
    pen.circle(0.47, 0.56, 0.22, c.dark)
    pen.circle(0.455, 0.545, 0.205, c.main)
    pen.ellipse(0.39, 0.46, 0.07, 0.045, c.shine)
    pen.circle(0.54, 0.66, 0.012, _alpha(c.deep, 110))
    pen.circle(0.58, 0.58, 0.01, _alpha(c.deep, 110))
    pen.circle(0.44, 0.7, 0.01, _alpha(c.deep, 110))
    pen.line([(0.47, 0.36), (0.49, 0.28)], c.wood_dark, 0.014)
    _leaf(pen, 0.49, 0.3, -20, 0.17, 0.08, c.green, c.green_light)


def _fish(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.78, 0.26, 0.03, c.shade)
    pen.poly([(0.31, 0.52), (0.16, 0.38), (0.2, 0.52), (0.16, 0.66)], c.dark)  # tail
    pen.poly([(0.44, 0.37), (0.56, 0.29), (0.6, 0.38)], c.dark)  # dorsal fin
    body = []
    for i in range(41):
        t = i / 40
        x = 0.28 + 0.5 * t
        h = 0.15 * math.sin(math.pi * t**0.75) ** 0.7 + 0.025 * (1 - t) ** 2
        body.append((x, 0.52 - h))
    for i in range(40, -1, -1):
        t = i / 40
        x = 0.28 + 0.5 * t
        h = 0.13 * math.sin(math.pi * t**0.75) ** 0.7 + 0.025 * (1 - t) ** 2
        body.append((x, 0.52 + h))
    pen.poly(body, c.main)
    belly = [(x, y) for x, y in body if y > 0.52]
    pen.poly(belly + [(0.76, 0.52), (0.3, 0.52)], c.light)
    pen.poly([(0.5, 0.6), (0.58, 0.6), (0.5, 0.7)], c.dark)  # pelvic fin
    pen.line([(0.33, 0.515), (0.45, 0.5), (0.6, 0.505)], _alpha(c.pale, 200), 0.01)  # lateral line
    for x, y in ((0.42, 0.45), (0.5, 0.43), (0.47, 0.47), (0.56, 0.45)):
        pen.circle(x, y, 0.011, _alpha(c.dark, 140))
    pen.arc(0.6, 0.51, 0.06, 0.085, 315, 45, _alpha(c.deep, 200), 0.009)  # gill
    pen.circle(0.705, 0.48, 0.025, c.white)
    pen.circle(0.71, 0.48, 0.013, c.deep)


def _cup(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.78, 0.28, 0.06, c.accent_dark)  # saucer
    pen.ellipse(0.5, 0.77, 0.26, 0.05, c.accent_light)
    pen.arc(0.71, 0.58, 0.07, 0.08, 270, 90, c.dark, 0.026)  # handle
    pen.pie(0.5, 0.5, 0.22, 0.26, 0, 180, c.main)
    pen.rect(0.28, 0.48, 0.72, 0.5, c.main)
    pen.ellipse(0.5, 0.48, 0.22, 0.055, c.light)
    pen.ellipse(0.5, 0.485, 0.19, 0.04, _hsl(c.hue + 10, 0.55, 0.42))  # drink
    pen.rect(0.28, 0.56, 0.72, 0.59, c.accent)
    pen.rect(0.33, 0.53, 0.355, 0.66, c.shine, r=0.012)
    steam = (255, 255, 255, 170)
    for x0 in (0.44, 0.52):
        pts = [(x0 + 0.02 * math.sin(i / 3), 0.42 - i * 0.016) for i in range(10)]
        pen.line(pts, steam, 0.011)


def _basket(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.8, 0.26, 0.035, c.shade)
    pen.arc(0.5, 0.47, 0.2, 0.22, 180, 360, c.dark, 0.022)  # handle
    pen.poly([(0.25, 0.47), (0.75, 0.47), (0.68, 0.8), (0.32, 0.8)], c.main)
    rows = 7
    for r in range(rows):
        y0 = 0.47 + r * 0.33 / rows
        y1 = y0 + 0.33 / rows
        inset0 = 0.07 * (y0 - 0.47) / 0.33
        x_left, x_right = 0.25 + inset0, 0.75 - inset0
        cells = 8
        for k in range(cells):
            if (k + r) % 2:
                xa = x_left + (x_right - x_left) * k / cells
                xb = x_left + (x_right - x_left) * (k + 1) / cells
                pen.rect(xa, y0 + 0.004, xb, y1 - 0.004, c.light, r=0.01)
    pen.rect(0.23, 0.44, 0.77, 0.49, c.dark, r=0.02)  # rim
    pen.rect(0.25, 0.452, 0.75, 0.46, _alpha(c.light, 150))


def _flower(pen: _Pen, c: _Palette, rng: random.Random):
    pen.line([(0.5, 0.86), (0.5, 0.45)], c.green, 0.014)
    _leaf(pen, 0.5, 0.74, 210, 0.17, 0.07, c.green, c.green_light)
    _leaf(pen, 0.5, 0.68, -25, 0.16, 0.07, c.green, c.green_light)
    cx, cy = 0.5, 0.4
    n = rng.choice((5, 6, 8))
    start = rng.uniform(0, 360 / n)
    for i in range(n):
        pen.poly(_blade(cx, cy, start + i * 360 / n, 0.2, 0.13, shape=0.6), c.main)
    for i in range(n):
        pen.poly(_blade(cx, cy, start + (i + 0.5) * 360 / n, 0.13, 0.08, shape=0.6), c.light)
    pen.circle(cx, cy, 0.055, c.accent)
    pen.circle(cx, cy, 0.03, c.accent_light)


def _plant(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.83, 0.2, 0.03, c.shade)
    leaf_dark = _hsl(c.hue, 0.5, 0.34)
    for ang, ln, col in (
        (200, 0.24, leaf_dark),
        (-20, 0.24, leaf_dark),
        (235, 0.28, c.main),
        (-55, 0.28, c.main),
        (260, 0.3, c.light),
        (-80, 0.31, c.main),
        (280, 0.26, c.light),
    ):
        _leaf(pen, 0.5, 0.58, ang + rng.uniform(-6, 6), ln, ln * 0.42, col, c.pale)
    pot, rim = (c.terracotta, _hsl(16, 0.5, 0.38)) if rng.random() < 0.5 else (c.accent, c.accent_dark)
    pen.poly([(0.33, 0.6), (0.67, 0.6), (0.62, 0.83), (0.38, 0.83)], pot)  # pot
    pen.rect(0.31, 0.57, 0.69, 0.63, rim, r=0.012)
    pen.poly([(0.36, 0.63), (0.4, 0.63), (0.42, 0.83), (0.395, 0.83)], _alpha(c.white, 60))


def _cake(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.72, 0.3, 0.07, c.shade)
    base = _hsl(c.hue, 0.55, 0.74)
    edge = _hsl(c.hue, 0.5, 0.58)
    pen.ellipse(0.53, 0.6, 0.28, 0.13, edge)  # disc below
    pen.ellipse(0.53, 0.585, 0.28, 0.13, base)
    pen.ellipse(0.48, 0.5, 0.29, 0.14, edge)  # top disc
    pen.ellipse(0.48, 0.485, 0.29, 0.14, base)
    pen.ellipse(0.48, 0.485, 0.24, 0.11, _hsl(c.hue, 0.6, 0.80))
    dot = c.deep if c.hue < 200 else c.dark
    for _ in range(40):  # sesame seeds
        a = rng.uniform(0, 2 * math.pi)
        r = math.sqrt(rng.random())
        x, y = 0.48 + math.cos(a) * 0.23 * r, 0.485 + math.sin(a) * 0.1 * r
        pen.ellipse(x, y, 0.007, 0.004, dot)
    for _ in range(6):  # toasted bubbles
        a = rng.uniform(0, 2 * math.pi)
        r = rng.uniform(0.2, 0.9)
        pen.ellipse(0.48 + math.cos(a) * 0.2 * r, 0.485 + math.sin(a) * 0.09 * r, 0.022, 0.011, _alpha(edge, 150))


def _rice(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.81, 0.22, 0.03, c.shade)
    grain = (252, 250, 242, 255)
    pen.chord(0.5, 0.52, 0.25, 0.2, 180, 360, grain)  # heap
    for _ in range(36):
        a = rng.uniform(math.pi, 2 * math.pi)
        r = math.sqrt(rng.random()) * 0.9
        x, y = 0.5 + math.cos(a) * 0.24 * r, 0.52 + math.sin(a) * 0.19 * r
        ang = rng.uniform(0, 180)
        pen.poly(_blade(x - 0.012, y, ang, 0.025, 0.012, n=8), (224, 214, 192, 255))
    pen.pie(0.5, 0.5, 0.3, 0.3, 0, 180, c.main)  # bowl
    pen.ellipse(0.5, 0.52, 0.3, 0.045, c.dark)
    pen.ellipse(0.5, 0.525, 0.28, 0.035, grain)
    pen.rect(0.41, 0.78, 0.59, 0.81, c.dark, r=0.01)  # foot
    for i in range(9):  # painted band
        x = 0.3 + i * 0.05
        pen.circle(x, 0.62 + 0.0009 * (i - 4) ** 2, 0.013, c.accent_light)
    pen.rect(0.25, 0.575, 0.75, 0.585, c.accent)
    pen.rect(0.27, 0.655, 0.73, 0.665, c.accent)
    pen.rect(0.25, 0.56, 0.75, 0.575, c.main)
    pen.line([(0.62, 0.2), (0.42, 0.47)], c.wood, 0.013)  # chopsticks
    pen.line([(0.66, 0.22), (0.46, 0.48)], c.wood_dark, 0.013)


def _house(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.82, 0.3, 0.03, c.shade)
    post = c.wood_dark
    for x in (0.27, 0.4, 0.6, 0.73):
        pen.rect(x - 0.012, 0.58, x + 0.012, 0.82, post)
    pen.rect(0.24, 0.56, 0.76, 0.6, c.wood_dark)  # floor
    pen.rect(0.27, 0.42, 0.73, 0.57, c.wood)  # walls
    for i in range(1, 8):
        x = 0.27 + i * 0.46 / 8
        pen.line([(x, 0.43), (x, 0.56)], _alpha(c.wood_dark, 120), 0.004)
    pen.rect(0.33, 0.45, 0.41, 0.52, c.pale)  # window
    pen.rect(0.59, 0.45, 0.67, 0.52, c.pale)
    pen.rect(0.46, 0.44, 0.54, 0.57, c.wood_dark)  # door
    pen.poly([(0.17, 0.45), (0.36, 0.22), (0.64, 0.22), (0.83, 0.45)], c.main)  # roof
    pen.poly([(0.17, 0.45), (0.36, 0.22), (0.4, 0.22), (0.24, 0.45)], c.dark)
    pen.poly([(0.83, 0.45), (0.64, 0.22), (0.6, 0.22), (0.76, 0.45)], c.dark)
    pen.rect(0.34, 0.2, 0.66, 0.23, c.deep, r=0.01)
    for x0 in range(5):  # stairs
        y = 0.62 + x0 * 0.04
        pen.rect(0.78 + x0 * 0.02, y, 0.84 + x0 * 0.02, y + 0.012, c.wood_dark)
    pen.line([(0.78, 0.6), (0.88, 0.82)], c.wood_dark, 0.01)


def _fabric(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.8, 0.3, 0.035, c.shade)
    layers = [(0.66, c.accent_dark, c.accent_light), (0.53, c.dark, c.light), (0.4, c.main, c.accent)]
    for i, (y, col, pattern) in enumerate(layers):
        x0, x1 = 0.22 + i * 0.01, 0.78 - i * 0.01
        pen.rect(x0, y, x1, y + 0.14, col, r=0.035)
        pen.rect(x0, y + 0.1, x1, y + 0.14, _alpha((0, 0, 0, 255), 35), r=0.035)  # fold shadow
        k = 9
        for j in range(k):  # diamond band
            xa = x0 + 0.04 + j * (x1 - x0 - 0.08) / k
            w = (x1 - x0 - 0.08) / k
            pen.poly([(xa, y + 0.05), (xa + w / 2, y + 0.02), (xa + w, y + 0.05), (xa + w / 2, y + 0.08)], pattern)
        pen.rect(x0 + 0.03, y + 0.088, x1 - 0.03, y + 0.096, pattern)
    pen.poly([(0.62, 0.4), (0.7, 0.4), (0.7, 0.5), (0.66, 0.46), (0.62, 0.5)], c.accent_light)  # tag ribbon


_VASE = [(0.18, 0.09), (0.23, 0.06), (0.33, 0.06), (0.5, 0.19), (0.66, 0.17), (0.84, 0.09)]


def _half_width(frames, y):
    for (y0, w0), (y1, w1) in zip(frames, frames[1:], strict=False):
        if y0 <= y <= y1:
            t = (y - y0) / (y1 - y0)
            return w0 + (w1 - w0) * (1 - math.cos(math.pi * t)) / 2
    return frames[-1][1] if y > frames[-1][0] else frames[0][1]


def _band(frames, cx, y0, y1, inset=0.0, steps=8):
    ys = [y0 + (y1 - y0) * i / steps for i in range(steps + 1)]
    right = [(cx + _half_width(frames, y) - inset, y) for y in ys]
    left = [(cx - _half_width(frames, y) + inset, y) for y in reversed(ys)]
    return right + left


def _vase(pen: _Pen, c: _Palette, rng: random.Random):
    pen.ellipse(0.5, 0.84, 0.18, 0.03, c.shade)
    body_color = c.cream if rng.random() < 0.6 else c.pale
    pen.poly(_profile(_VASE, 0.5), body_color)
    pen.rect(0.4, 0.165, 0.6, 0.195, c.main, r=0.01)  # lip
    for y0, y1 in ((0.245, 0.265), (0.43, 0.445), (0.6, 0.612), (0.76, 0.8)):
        pen.poly(_band(_VASE, 0.5, y0, y1), c.main)
    for i in range(6):  # painted waves
        x = 0.35 + i * 0.06
        pen.arc(x, 0.53, 0.03, 0.03, 180, 360, c.dark, 0.008)
    _leaf(pen, 0.47, 0.7, 200, 0.1, 0.045, c.main, body_color)
    _leaf(pen, 0.53, 0.7, -20, 0.1, 0.045, c.main, body_color)
    pen.circle(0.5, 0.7, 0.016, c.dark)
    hl = [(0.5 - _half_width(_VASE, y) * 0.72, y) for y in (0.45 + i * 0.025 for i in range(11))]
    pen.line(hl, c.shine, 0.018)
    pen.rect(0.45, 0.84, 0.55, 0.845, c.main)


_DRAW: dict[str, Callable[[_Pen, _Palette, random.Random], None]] = {
    "jar": _jar,
    "bottle": _bottle,
    "bag": _bag,
    "box": _box,
    "leaf": _leaves,
    "fruit": _fruit,
    "fish": _fish,
    "cup": _cup,
    "basket": _basket,
    "flower": _flower,
    "plant": _plant,
    "cake": _cake,
    "rice": _rice,
    "house": _house,
    "fabric": _fabric,
    "vase": _vase,
}


def _background(size: int, hue: int, rng: random.Random) -> Image.Image:
    top = _hsl(hue + rng.uniform(-8, 8), 0.50, 0.93)
    bottom = _hsl(hue + 28, 0.42, 0.82)
    ramp = Image.linear_gradient("L").resize((1, size), Image.Resampling.BILINEAR)
    bands = [ramp.point([round(top[i] + (bottom[i] - top[i]) * v / 255) for v in range(256)]) for i in range(3)]
    bg = Image.merge("RGB", bands).resize((size, size), Image.Resampling.NEAREST)
    d = ImageDraw.Draw(bg, "RGBA")
    r = size * 0.36  # soft disc behind the object
    cx = size * (0.5 + rng.uniform(-0.03, 0.03))
    cy = size * (0.5 + rng.uniform(-0.03, 0.03))
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 255, 255, 70))
    for _ in range(3):  # a few faint bubbles for depth
        rr = size * rng.uniform(0.02, 0.05)
        x, y = size * rng.uniform(0.08, 0.92), size * rng.uniform(0.08, 0.3)
        d.ellipse([x - rr, y - rr, x + rr, y + rr], fill=(255, 255, 255, 60))
    return bg


def draw_product_image(motif: str, hue: int, seed: int, size: int = FULL_SIZE) -> Image.Image:
    """A square RGB illustration of `motif` (see MOTIFS) on a gradient from `hue`; no text.

    Unknown motifs fall back to "box". The same arguments always give the same image.
    """
    hue = int(hue) % 360
    draw = _DRAW.get(motif, _box)
    rng = random.Random(f"{motif}|{hue}|{seed}")
    canvas = _background(size * _SUPERSAMPLE, hue, rng)
    pen = _Pen(
        canvas,
        angle=rng.uniform(-5, 5),
        scale=rng.uniform(0.94, 1.04),
        dx=rng.uniform(-0.025, 0.025),
        dy=rng.uniform(-0.02, 0.02),
    )
    draw(pen, _Palette(hue, rng), rng)
    return canvas.reduce(_SUPERSAMPLE)


def save_product_images(image: Image.Image, folder: str, stem: str) -> dict:
    """Store `{folder}/{stem}.jpg`/`.webp` (800 px) and `-400` thumbnails of both in the
    media store (shop.storage); returns the JPEG's name (relative to the folder) and size."""
    full = image.convert("RGB")
    if full.size != (FULL_SIZE, FULL_SIZE):
        full = full.resize((FULL_SIZE, FULL_SIZE), Image.Resampling.LANCZOS)
    thumb = full.reduce(FULL_SIZE // THUMB_SIZE)
    store = storage()
    for img, name in ((full, stem), (thumb, f"{stem}-{THUMB_SIZE}")):
        for ext, fmt, options in (
            ("jpg", "JPEG", {"quality": 85, "optimize": True, "progressive": True}),
            ("webp", "WEBP", {"quality": 80, "method": 2}),
        ):
            out = io.BytesIO()
            img.save(out, fmt, **options)
            store.put(MEDIA, f"{folder}/{name}.{ext}", out.getvalue())
    return {"path": f"{stem}.jpg", "width": full.width, "height": full.height}
