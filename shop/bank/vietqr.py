"""VietQR codes: the EMVCo merchant-presented payload of NAPAS's VietQR
specification (bank BIN, account, exact amount in đồng, transfer note), built by
the `vietnam-qr-pay` library, and its picture drawn by segno.

The payload is plain text (tag-length-value fields closed by a CRC-16/CCITT
checksum); any banking app that scans it fills in the transfer form."""

import re
import unicodedata
from dataclasses import dataclass

import segno
from vietnam_qr_pay import QRPay

# Transfer notes travel through NAPAS as unaccented text; banks cut them at 50-ish
# characters and drop most punctuation. Keep the note short and plain.
NOTE_MAX = 50
_NOTE_RE = re.compile(r"[^A-Za-z0-9 ]+")


def _unaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def plain_note(note: str) -> str:
    """A transfer note every bank keeps as it is: no tone marks, letters, digits, spaces."""
    return " ".join(_NOTE_RE.sub(" ", _unaccent(note)).split())[:NOTE_MAX]


@dataclass(frozen=True)
class TransferRequest:
    """What a VietQR asks the payer's bank to send."""

    bank_bin: str
    account_number: str
    amount: int  # whole đồng; 0 leaves the amount to the payer
    note: str

    def payload(self) -> str:
        qr = QRPay.init_viet_qr(
            bank_bin=self.bank_bin,
            bank_number=self.account_number,
            amount=str(self.amount) if self.amount > 0 else None,
            purpose=plain_note(self.note) or None,
        )
        return qr.build()

    def svg(self, title: str = "") -> str:
        """The QR code as inline SVG (error correction M, as banks' own codes)."""
        return segno.make(self.payload(), error="m", micro=False).svg_inline(scale=5, border=3, title=title or None)

    def png(self, path, scale: int = 6) -> None:
        segno.make(self.payload(), error="m", micro=False).save(path, kind="png", scale=scale, border=4)


def crc16_ccitt(text: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, start 0xFFFF) of the text, as EMVCo's tag 63
    carries it: four upper-case hex digits. Written here independently of the
    library, to check what it builds."""
    crc = 0xFFFF
    for byte in text.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def parse_tlv(text: str) -> dict[str, str]:
    """The top-level fields of an EMVCo payload (id -> value); raises ValueError."""
    fields, i = {}, 0
    while i < len(text):
        if i + 4 > len(text):
            raise ValueError("truncated field header")
        tag, length = text[i : i + 2], int(text[i + 2 : i + 4])
        value = text[i + 4 : i + 4 + length]
        if len(value) != length:
            raise ValueError("truncated field value")
        fields[tag] = value
        i += 4 + length
    return fields


def checksum_ok(text: str) -> bool:
    return len(text) > 8 and text[-8:-4] == "6304" and crc16_ccitt(text[:-4]) == text[-4:].upper()
