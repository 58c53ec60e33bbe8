from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectChoice, TextAreaField  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
from wtforms.validators import InputRequired, Length

from shop.forms import Form
from shop.reviews.services import MAX_BODY

RATING_CHOICES = [SelectChoice(str(n), _l("%(n)s sao", n=n)) for n in (5, 4, 3, 2, 1)]


class ReviewForm(Form):
    rating = RadioField(_l("Số sao"), choices=RATING_CHOICES, validators=[InputRequired(_l("Chọn số sao."))])
    body = TextAreaField(_l("Nhận xét của bạn"), validators=[Length(max=MAX_BODY)], render_kw={"rows": 5})
    photos = MultipleFileField(
        _l("Ảnh thực tế (tối đa 3 ảnh)"), render_kw={"accept": "image/jpeg,image/png,image/webp", "multiple": True}
    )


class HideReviewForm(Form):
    reason = TextAreaField(_l("Lý do ẩn"), validators=[InputRequired(_l("Ghi lý do ẩn đánh giá.")), Length(max=2000)])
