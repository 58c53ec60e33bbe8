"""The base of every HTML form: Flask-WTF's, reading only form posts.

Flask-WTF also fills a form from a JSON body, where values may be numbers,
lists or objects that text fields cannot take (a TypeError, a 500). Our forms
are posted by browsers as forms; a JSON body leaves them empty, so they are
refused field by field like any incomplete form.
"""

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import ImmutableMultiDict


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is _Auto and request.is_json and not request.form and not request.files:
                return ImmutableMultiDict() if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
            return super().wrap_formdata(form, formdata)
