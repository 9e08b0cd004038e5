"""Commands the pages suggest, spelled so that they run as printed from the project's root."""

from __future__ import annotations

import sys
from pathlib import Path

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def manage_py() -> str:
    """``python manage.py`` with the interpreter that runs this portal: ``.venv/bin/python`` in
    the demo (a new shell has no virtualenv activated), plain ``python`` outside a virtualenv
    (the Docker image), where ``python`` is the one with confops installed."""
    if sys.prefix == sys.base_prefix:
        return "python manage.py"
    interpreter = Path(sys.executable)
    if interpreter.is_relative_to(Path(settings.BASE_DIR)):
        interpreter = interpreter.relative_to(Path(settings.BASE_DIR))
    return f"{interpreter} manage.py"  # a virtualenv elsewhere: its full path
