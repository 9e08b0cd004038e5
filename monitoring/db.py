"""Database functions the ORM lacks, for SQLite and PostgreSQL (the databases confops runs on)."""

from __future__ import annotations

from typing import Any

from django.db.models import FloatField, Func


class Epoch(Func):
    """A datetime as seconds since 1970 (UTC), computed by the database.

    Pages that place thousands of runs on a time axis need numbers, not datetimes: this saves
    parsing each datetime in Python (SQLite returns text) and converting it back.
    """

    output_field = FloatField()
    # PostgreSQL's EXTRACT returns numeric, which would reach Python as Decimal.
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite keeps datetimes as UTC text; julianday() reads it, 2440587.5 is 1970-01-01.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )
