"""Vietnamese text folding for search and slugs.

Unicode decomposition strips tone marks and vowel hats, but "đ"/"Đ" (U+0111,
U+0110) are separate letters with no decomposition, so they are mapped to "d"
explicitly. Search stores and queries folded text, so "banh da ke",
"bánh đa kế" and "BANH DA" all meet on "banh da ke".
"""

import re
import unicodedata

_D_MAP = str.maketrans({"đ": "d", "Đ": "d"})
_WORD_RE = re.compile(r"[0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case `text` and strip Vietnamese diacritics, including đ -> d."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_D_MAP))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """Folded alphanumeric words of `text`, in order."""
    return _WORD_RE.findall(fold(text))


def folded_words(text: str) -> list[str]:
    """The words of text that is folded already (the products' search columns)."""
    return _WORD_RE.findall(text)


def slugify(text: str, max_length: int = 80) -> str:
    """URL slug: folded words joined by hyphens ("Bánh đa Kế" -> "banh-da-ke")."""
    slug = "-".join(words(text))[:max_length].strip("-")
    return slug or "san-pham"
