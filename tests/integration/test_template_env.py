"""Templates compiled per language with their fixed strings translated
(shop/template_env.py): the same output as Jinja's runtime gettext, one compile
per language, and calls it must leave alone left alone."""

from flask_babel import force_locale, get_translations

from shop.template_env import _COMPILING

SOURCE = (
    '{{ _("Bộ lọc") }}|{{ _("Từ %(n)s sao", n=3) }}|{{ gettext("Trước") }}|{{ _("100%% <b>") }}'
    '|{{ ("x" ~ _("Sau")) }}|{{ _(label) }}|{{ obj._("Bộ lọc") }}'
)


class _Obj:
    @staticmethod
    def _(text):
        return f"obj:{text}"


def _render(app, language: str, folded: bool) -> tuple[str, str]:
    with force_locale(language):
        token = _COMPILING.set((language, get_translations()) if folded else None)
        try:
            code = app.jinja_env.compile(SOURCE, raw=True)
            template = app.jinja_env.from_string(SOURCE)
        finally:
            _COMPILING.reset(token)
        return code, template.render(label="Bộ lọc", obj=_Obj())


def test_fixed_strings_are_translated_when_compiled_and_read_the_same(app):
    with app.test_request_context("/"):
        for language, filters in (("en", "Filters"), ("vi", "Bộ lọc")):
            code, folded = _render(app, language, folded=True)
            runtime_code, runtime = _render(app, language, folded=False)
            assert folded == runtime
            assert folded.startswith(f"{filters}|")
            assert "obj:Bộ lọc" in folded  # a method called _ is not gettext
            assert "100% &lt;b&gt;" not in folded and "100% <b>" in folded  # formatted as newstyle gettext does
            # The lone literals became constants; the call with a variable and _(label) did not.
            assert runtime_code.count("name='_')") == 5 and "name='gettext')" in runtime_code
            assert code.count("name='_')") == 2 and "name='gettext')" not in code
            assert f"yield '{filters}|'" in code


def test_each_language_has_its_own_compiled_page(app):
    client = app.test_client()
    assert "<summary>Bộ lọc</summary>" in client.get("/san-pham").get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert "<summary>Filters</summary>" in client.get("/san-pham").get_data(as_text=True)
    client.set_cookie("lang", "vi")
    assert "<summary>Bộ lọc</summary>" in client.get("/san-pham?page=1").get_data(as_text=True)
