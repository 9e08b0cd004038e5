"""Many rows written with one prepared statement run for each (``executemany``).

Django's ``bulk_create`` and ``update()`` build and compile SQL per call and prepare every field
of every row through its query compiler: a replayed fleet month writes 40,000 runs, their links
and their sources' latest state, and that preparation was a fifth of it. These helpers prepare
each value as the field itself does (``pre_save``, ``get_db_prep_save``) and format in only the
model's own quoted table and column names; values are always parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def insert_many(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert these unsaved objects (their primary key left to the database, not read back:
    callers that need it look it up by a unique key)."""
    if not objects:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    statement = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    rows = [
        [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def update_many(
    model: type[models.Model], objects: Sequence[models.Model], names: Sequence[str]
) -> None:
    """Write fields ``names`` of these saved objects, one UPDATE by primary key each (no
    ``auto_now``, no signals: as ``QuerySet.update``)."""
    if not objects:
        return
    fields = [f for f in model._meta.concrete_fields if f.name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    key = quote(str(model._meta.pk.column))
    statement = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {key} = %s"  # noqa: S608
    rows: list[list[Any]] = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)
