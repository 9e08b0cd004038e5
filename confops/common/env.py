"""Strict environment parsing on top of django-environ.

django-environ reads any unknown word as False for booleans; a typo such as ``DEBUG=ture``
must stop start-up instead of silently switching a feature off.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f", ""})


def read_dotenv(base_dir: Path) -> None:
    """Read ``base_dir/.env`` into the environment unless CONFOPS_IGNORE_DOTENV is set (tests):
    the settings and gunicorn's master (which never loads the settings) read it alike."""
    dotenv = base_dir / ".env"
    if dotenv.is_file() and "CONFOPS_IGNORE_DOTENV" not in os.environ:
        environ.Env.read_env(dotenv)


def add_to_dotenv(dotenv: Path, name: str, value: str, comment: str) -> bool:
    """Give ``name`` a value in ``dotenv`` unless it has one there; True if the file changed.

    A value the user wrote is never changed. An empty assignment (``SECRET_KEY=`` as copied from
    .env.example) is filled in place rather than repeated: a second line would leave readers
    disagreeing on which assignment counts (django-environ keeps the first, shells the last). A new
    file is readable by its owner only, since what the demo adds to it is a secret.
    """
    lines = dotenv.read_text(encoding="utf-8").splitlines() if dotenv.is_file() else []
    pattern = re.compile(rf"^\s*(?:export\s+)?{re.escape(name)}\s*=\s*(.*?)\s*$")
    for index, line in enumerate(lines):
        found = pattern.match(line)
        if found is None:
            continue
        if found.group(1) not in ("", "''", '""'):
            return False
        lines[index] = f"{name}={value}"
        break
    else:
        lines += [*([""] if lines else []), f"# {comment}", f"{name}={value}"]
    if not dotenv.exists():
        dotenv.touch(mode=0o600)
    dotenv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


class StrictEnv(environ.Env):
    """An ``environ.Env`` whose booleans and integers refuse values they do not understand."""

    def bool(self, var: str, default: object = environ.Env.NOTSET) -> bool:
        raw = self.str(var, default=None) if var in self.ENVIRON else None
        if raw is None:
            if default is environ.Env.NOTSET:
                raise ImproperlyConfigured(f"Set the {var} environment variable")
            return bool(default)
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(
            f"{var}={raw!r} is not a boolean: use one of true/false, yes/no, on/off, 1/0"
        )

    def non_negative_int(self, var: str, default: int) -> int:
        raw = self.str(var, default=str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a whole number") from None
        if value < 0:
            raise ImproperlyConfigured(f"{var}={raw!r} must not be negative")
        return value

    def positive_int(self, var: str, default: int) -> int:
        raw = self.str(var, default=str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a whole number") from None
        if value <= 0:
            raise ImproperlyConfigured(f"{var}={raw!r} must be greater than zero")
        return value
