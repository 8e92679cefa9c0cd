"""The web page's blueprint: server-rendered pages under `/ui/`, their templates and CSS."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "web",
    __name__,
    url_prefix="/ui",
    template_folder="templates",
    static_folder="static",
)
