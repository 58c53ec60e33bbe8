import pytest

from shop.text import fold, slugify, words


@pytest.mark.parametrize("text", ["Bánh đa Kế", "banh da ke", "BANH DA KE", "BÁNH ĐA KẾ", "bánh đa kế"])
def test_every_spelling_of_banh_da_ke_folds_to_the_same_words(text):
    assert words(text) == ["banh", "da", "ke"]


def test_d_with_stroke_is_folded_although_unicode_does_not_decompose_it():
    assert fold("Đặc sản Đồng Tháp, đậu đỏ") == "dac san dong thap, dau do"


def test_fold_strips_every_vietnamese_tone_and_hat():
    assert fold("àáảãạ ăằắẳẵặ âầấẩẫậ èéẻẽẹ êềếểễệ ìíỉĩị òóỏõọ ôồốổỗộ ơờớởỡợ ùúủũụ ưừứửữự ỳýỷỹỵ") == (
        "aaaaa aaaaaa aaaaaa eeeee eeeeee iiiii ooooo oooooo oooooo uuuuu uuuuuu yyyyy"
    )


def test_decomposed_input_folds_like_precomposed():
    import unicodedata

    assert fold(unicodedata.normalize("NFD", "Mật ong Hoa Rừng")) == "mat ong hoa rung"


def test_words_drop_punctuation_and_keep_digits():
    assert words("Gạo ST25 — hữu cơ (5 kg)!") == ["gao", "st25", "huu", "co", "5", "kg"]


def test_slugify_makes_ascii_hyphenated_slugs():
    assert slugify("Bánh đa Kế") == "banh-da-ke"
    assert slugify("Trà Tân Cương – Thái Nguyên") == "tra-tan-cuong-thai-nguyen"


def test_slugify_never_returns_an_empty_slug():
    assert slugify("!!!") == "san-pham"
