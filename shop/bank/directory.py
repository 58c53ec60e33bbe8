"""The NAPAS member banks (BIN, short name, full name), from shop/data/banks_napas.json.

The file names its source and version; it is read once per process."""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shop.text import fold

DATA = Path(__file__).resolve().parent.parent / "data" / "banks_napas.json"

# What banks issue as account numbers for transfers: digits only, 6 to 19 of them
# (NAPAS 247 carries up to 19). Card numbers and e-wallet ids are not accepted here.
ACCOUNT_RE = re.compile(r"^\d{6,19}$")
# VietQR shows the holder's name as the bank keeps it: capitals without tone marks.
HOLDER_RE = re.compile(r"^[A-Z0-9 .,&()\-/]{2,70}$")


@dataclass(frozen=True)
class Bank:
    bin: str
    code: str
    short_name: str
    name: str
    vietqr: bool

    @property
    def label(self) -> str:
        return f"{self.short_name} — {self.name}"


@cache
def _load() -> tuple[dict, tuple[Bank, ...]]:
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    banks = tuple(
        Bank(row["bin"], row["code"], row["short_name"], row["name"], bool(row.get("vietqr", True)))
        for row in doc["banks"]
    )
    return {"source": doc["source"], "version": doc["version"]}, banks


def banks() -> tuple[Bank, ...]:
    """Every bank, sorted by short name."""
    return _load()[1]


def source() -> dict:
    return _load()[0]


def by_bin(bin_code: str | None) -> Bank | None:
    return next((b for b in banks() if b.bin == (bin_code or "").strip()), None)


def normalise_account(number: str | None) -> str:
    """The account number without the spaces, dots and dashes people type."""
    return re.sub(r"[\s.\-]", "", number or "")


def valid_account(number: str) -> bool:
    return bool(ACCOUNT_RE.match(number))


def normalise_holder(name: str | None) -> str:
    """The holder's name as banks print it: capitals, no tone marks, single spaces."""
    return " ".join(fold(name or "").upper().split())


def valid_holder(name: str) -> bool:
    return bool(HOLDER_RE.match(name))
