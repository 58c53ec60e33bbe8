"""VietQR payloads, their CRC, payment codes in mangled transfer notes, and tax codes."""

import shutil
import subprocess

import pytest
from vietnam_qr_pay import QRPay

from shop.bank import codes, directory
from shop.bank.vietqr import TransferRequest, checksum_ok, crc16_ccitt, parse_tlv, plain_note
from shop.checkout.invoice import InvoiceError, check_invoice, normalise_tax_code, tax_check_digit

# Published examples (the vietnam-qr-pay documentation, taken from NAPAS's VietQR
# guide): ACB account 257678859, static; and with 1,000 đ and the note "Chuyen tien".
STATIC_ACB = "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
DYNAMIC_ACB = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540410005802VN"
    "62150811Chuyen tien6304BBB8"
)


def test_crc16_ccitt_matches_the_published_checksums():
    assert crc16_ccitt(STATIC_ACB[:-4]) == "AE9F"
    assert crc16_ccitt(DYNAMIC_ACB[:-4]) == "BBB8"
    assert crc16_ccitt("123456789") == "29B1"  # the CRC-16/CCITT-FALSE check value


def test_a_transfer_request_builds_the_published_payload_exactly():
    assert TransferRequest("970416", "257678859", 1000, "Chuyen tien").payload() == DYNAMIC_ACB
    assert TransferRequest("970416", "257678859", 0, "").payload() == STATIC_ACB


def test_the_payload_carries_bin_account_amount_and_note_in_their_fields():
    payload = TransferRequest("970436", "0011001234567", 245_000, "OC261202ABCDE").payload()
    fields = parse_tlv(payload)
    assert fields["00"] == "01" and fields["01"] == "12"  # dynamic: one payment
    assert fields["53"] == "704" and fields["54"] == "245000" and fields["58"] == "VN"
    merchant = parse_tlv(fields["38"])
    assert merchant["00"] == "A000000727"  # NAPAS
    assert parse_tlv(merchant["01"]) == {"00": "970436", "01": "0011001234567"}
    assert merchant["02"] == "QRIBFTTA"  # transfer to an account
    assert parse_tlv(fields["62"])["08"] == "OC261202ABCDE"
    assert checksum_ok(payload)
    parsed = QRPay(payload)
    assert parsed.is_valid and parsed.consumer.bank_bin == "970436" and parsed.amount == "245000"


def test_a_changed_character_breaks_the_checksum():
    payload = TransferRequest("970436", "0011001234567", 245_000, "OC261202ABCDE").payload()
    assert not checksum_ok(payload.replace("245000", "945000"))


def test_notes_lose_tone_marks_and_punctuation():
    assert plain_note("Thanh toán đơn OC261202-ABCDE!") == "Thanh toan don OC261202 ABCDE"
    assert len(plain_note("x" * 80)) == 50


def test_zbar_reads_back_the_rendered_qr_byte_for_byte(tmp_path):
    assert shutil.which("zbarimg"), "zbarimg (Debian zbar-tools) is needed: .ci/run installs it"
    request = TransferRequest("970436", "0011001234567", 1_234_000, "OC261202ABCDE")
    path = tmp_path / "qr.png"
    request.png(path)
    out = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == request.payload()


@pytest.mark.parametrize(
    "note",
    [
        "OC261202-ABCDE",
        "oc261202abcde",
        "OC 261202 ABCDE",
        "MBVCB.3278123.OC261202-ABCDE.CT tu 0123456789 NGUYEN VAN A",
        "IBFT oc261202 abcde-0912345678",
        "123456OC261202ABCDEGD 998877",
        "TKThe :0123, tai VCB. OC.261202.ABCDE. -CTLNHIDI000012345",
        "Thanh toan OC261202ABCDE",
    ],
)
def test_the_payment_code_is_found_whatever_the_bank_did_to_the_note(note):
    assert codes.candidates(note) == ["OC261202ABCDE"]
    assert codes.order_number("OC261202ABCDE") == "OC261202-ABCDE"


@pytest.mark.parametrize("note", ["", "chuyen tien", "OC2612ABCDE", "OC261202ABCD", "OC261202-ABCD0"])
def test_notes_without_a_whole_code_give_none(note):
    assert codes.candidates(note) == []


def test_several_codes_are_all_candidates_in_order():
    assert codes.candidates("OC261202AAAAA va OC261203BBBBB") == ["OC261202AAAAA", "OC261203BBBBB"]


def test_the_bank_directory_names_its_source_and_has_unique_bins():
    banks = directory.banks()
    assert len(banks) > 40
    assert len({b.bin for b in banks}) == len(banks)
    assert directory.by_bin("970436").short_name == "Vietcombank"
    assert "vietnam-qr-pay" in directory.source()["version"]


def test_account_numbers_are_digits_only():
    assert directory.valid_account(directory.normalise_account("0011 0012-34567"))
    assert not directory.valid_account("12345")
    assert not directory.valid_account("0011A01234567")
    assert not directory.valid_account("1" * 20)
    assert directory.normalise_holder("Nguyễn  Văn Đức") == "NGUYEN VAN DUC"


@pytest.mark.parametrize("code", ["0100109106", "0300588569", "0101248141"])
def test_real_tax_codes_pass_their_check_digit(code):
    assert normalise_tax_code(code) == code
    assert tax_check_digit(code[:9]) == int(code[9])


def test_a_branch_tax_code_is_ten_digits_and_three():
    assert normalise_tax_code("0100109106-001") == "0100109106-001"
    assert normalise_tax_code("0100109106 001") == "0100109106-001"
    assert normalise_tax_code("0100109106-000") is None


@pytest.mark.parametrize("code", ["0100109107", "010010910", "01001091066", "0100109106-01", "ABCDEFGHIJ", ""])
def test_wrong_tax_codes_are_refused(code):
    assert normalise_tax_code(code) is None


def test_invoice_details_are_checked_field_by_field():
    invoice = check_invoice("Công ty TNHH Ong Vàng", "0100109106", "12 Lý Thường Kiệt, Hà Nội", "KeToan@OngVang.vn")
    assert invoice.tax_code == "0100109106" and invoice.email == "ketoan@ongvang.vn"
    with pytest.raises(InvoiceError) as err:
        check_invoice("Công ty", "0100109107", "Hà Nội", "a@b.vn")
    assert err.value.field == "invoice_tax_code"
    with pytest.raises(InvoiceError) as err:
        check_invoice("Công ty", "0100109106", "Hà Nội", "not-an-email")
    assert err.value.field == "invoice_email"
