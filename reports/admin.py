"""The stored reports (read-only) and who receives them (one editable row)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reports.models import DailyReport, ReportDistribution


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = ["date", "time_zone", "generated_at", "sent_at", "send_round", "sent_by"]
    readonly_fields = [f.name for f in DailyReport._meta.fields]
    exclude = ["html", "text"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReportDistribution)
class ReportDistributionAdmin(admin.ModelAdmin):
    filter_horizontal = ["channels"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ReportDistribution.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
