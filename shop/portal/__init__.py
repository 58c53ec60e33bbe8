"""The producer portal (/producer): a producer runs its shop from here.

Every page is scoped to the producers the signed-in user belongs to
(`shop.portal.access`); another producer's product, order or stock is a 404."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/producer")
