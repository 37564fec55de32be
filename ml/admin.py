from __future__ import annotations

from django.contrib import admin

from ml.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are created by training and moved only by promotion, so the
    registry's one-active rule and the recorded decisions cannot be edited by hand."""

    list_display = ("organization", "kind", "version", "status", "trained_at", "promoted_at")
    list_filter = ("kind", "status", "organization")
    search_fields = ("version", "organization__slug")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
