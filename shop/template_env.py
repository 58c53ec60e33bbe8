"""Templates compiled once per language, their fixed strings translated when compiled.

A catalog first view called `_("…")` about forty times, each through Jinja's
gettext wrapper (two context calls, the request's translations looked up, a Markup
built and %-formatted): ~15% of the page's CPU for strings that never change. Here
each template is compiled once per language (the template cache is keyed by it),
and a call of `_` or `gettext` on a lone string literal is replaced while
compiling by its translation, formatted the way Jinja's newstyle gettext formats it
(`Markup(translation) % {}`) and marked safe, so the template holds a constant.
Calls with variables (`_("%(n)s sao", n=3)`), `ngettext`, `pgettext` and
`{% trans %}` blocks are left to run as before. Without a language (no app
context) the template compiles unchanged.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from typing import Any

from flask import g, has_app_context
from flask.templating import Environment
from flask_babel import get_locale, get_translations
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

# The language being compiled for and its translations, set around a compile.
_COMPILING: ContextVar[tuple[str, Any] | None] = ContextVar("compiling_for", default=None)
_GETTEXT_NAMES = frozenset(("_", "gettext"))


def _babel_state():
    """Flask-Babel's namespace on `g` and the locale it holds (resolved by get_locale()
    the first time), read with one resolution of `g` where get_locale() makes five.
    (None, None) outside an app context or without a locale."""
    if not has_app_context():
        return None, None
    babel_ctx = g._get_current_object().__dict__.get("_flask_babel")
    locale = getattr(babel_ctx, "babel_locale", None)
    if locale is None:
        locale = get_locale()
        if locale is None:
            return None, None
        babel_ctx = g._flask_babel
    return babel_ctx, locale


def language() -> str | None:
    """The current language's code ("vi", "en"), as `str(get_locale())` gives it: the
    code is built once per locale (a page asked for it ~50 times). None outside an app
    context."""
    babel_ctx, locale = _babel_state()
    if locale is None:
        return None
    held = getattr(babel_ctx, "shop_language", None)
    if held is None or held[0] is not locale:  # force_locale swaps the locale object
        held = babel_ctx.shop_language = (locale, str(locale))
    return held[1]


def translations():
    """The current translations, looked up once per locale rather than per string
    (Flask-Babel's own template callables look them up for each string of a page;
    force_locale still switches, since the locale object is compared)."""
    babel_ctx, locale = _babel_state()
    if locale is None:
        return get_translations()
    held = getattr(babel_ctx, "shop_translations", None)
    if held is None or held[0] is not locale:
        held = babel_ctx.shop_translations = (locale, get_translations())
    return held[1]


class TranslateLiterals(Extension):
    """Rewrites `_("literal")` into `("translation"|safe)` while compiling (Jinja folds
    the filter into a constant)."""

    def filter_stream(self, stream: TokenStream):
        language = _COMPILING.get()
        if language is None:
            yield from stream
            return
        translations = language[1]
        held: list[Token] = []  # tokens that may start a call: name, "(", string
        previous = None
        for token in stream:
            held.append(token)
            kinds = [t.type for t in held]
            if kinds == ["name"]:
                if token.value in _GETTEXT_NAMES and previous != "dot":
                    continue
            elif kinds == ["name", "lparen"] or kinds == ["name", "lparen", "string"]:
                continue
            elif kinds == ["name", "lparen", "string", "rparen"]:
                text = Markup(translations.ugettext(held[2].value)) % {}
                line = held[0].lineno
                yield Token(line, "lparen", "(")
                yield Token(line, "string", str(text))
                yield Token(line, "pipe", "|")
                yield Token(line, "name", "safe")
                yield Token(line, "rparen", ")")
                held = []
                previous = "rparen"
                continue
            # Not a call on a lone literal: hand the tokens on as they came.
            yield from held
            previous = held[-1].type
            held = []
        yield from held


class LocalizedEnvironment(Environment):
    """Flask's environment with the template cache keyed by language as well."""

    def __init__(self, app, **options):
        super().__init__(app, **options)
        self.add_extension(TranslateLiterals)

    def make_globals(self, d):
        """A template's globals as one dict instead of Jinja's ChainMap over the
        environment's: each `{% from ... import %}` compares the importing page's
        globals with the imported template's, and ChainMap's membership test is
        Python code run for each of ~80 globals (5% of a first view; a product page
        imports 5 or 6 times). The copy is taken when a template is loaded; every
        global is set when the app starts (Jinja asks not to change them later)."""
        return {**self.globals, **(d or {})}

    def _load_template(self, name, globals):
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        code = language()
        cache_key = (weakref.ref(self.loader), name if code is None else f"{name}\x00{code}")
        if self.cache is not None:
            template = self.cache.get(cache_key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        token = _COMPILING.set((code, translations()) if code is not None else None)
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            _COMPILING.reset(token)
        if self.cache is not None:
            self.cache[cache_key] = template
        return template
