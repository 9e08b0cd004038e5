"""Secret-bearing model fields in the Django admin, shown masked to every reader.

Django renders a read-only field from the raw model value, not through the form's masked widget,
and a user who may view but not change an object (an Operator with ``view_channel`` and
``is_staff``) sees every field read-only. So the mixin swaps each secret field for a display
that masks it wherever the admin would show it read-only, in the list and in the search: one
place for every admin with secrets. No app imports: the admin classes name their fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest


class MaskedSecretsAdmin(admin.ModelAdmin):
    """``masked_fields`` maps each secret field to the name of a display (a method of the admin
    or an attribute of the model) that shows it masked; an empty name leaves the field out of
    the read-only view (a form-only field such as a "clear the secret" box)."""

    masked_fields: ClassVar[dict[str, str]] = {}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets  # the form's own widgets never send a stored secret back
        return [
            (name, {**options, "fields": self.masked(options["fields"])})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.masked(super().get_readonly_fields(request, obj))

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.masked(super().get_list_display(request))

    def get_search_fields(self, request: HttpRequest) -> Any:
        """Searching a secret would tell its characters one query at a time."""
        return [name for name in super().get_search_fields(request) if not self.is_secret(name)]

    def masked(self, names: Sequence[Any]) -> list[Any]:
        shown: list[Any] = []
        for name in names:
            if isinstance(name, list | tuple):  # fields laid out on one line
                shown.append(tuple(self.masked(name)))
            elif not self.is_secret(name):
                shown.append(name)
            elif self.masked_fields[name]:
                shown.append(self.masked_fields[name])
        return shown

    def is_secret(self, name: Any) -> bool:
        return isinstance(name, str) and name.split("__")[0].lstrip("^=@") in self.masked_fields
