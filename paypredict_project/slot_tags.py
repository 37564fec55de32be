"""Template tags of the page slots (paypredict_project/slots.py): {% load slots %}."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from paypredict_project import slots

# ---------------------------------------------------------------- template tags
# Loaded as {% load slots %} (registered under TEMPLATES OPTIONS "libraries").
register = template.Library()


@register.simple_tag(takes_context=True)
def slot_panels(context: template.Context, slot: str, obj: Any = None) -> SafeString:
    """{% slot_panels "invoice_detail.panels" invoice %}"""
    return slots.render_panels(slot, request=context.get("request"), obj=obj)


@register.simple_tag(takes_context=True)
def slot_items(context: template.Context, slot: str) -> list[Any]:
    """{% slot_items "invoice_list.columns" as columns %}: the items this member may see."""
    request = context.get("request")
    return slots.items(slot, permissions=slots.member_permissions(request))


@register.filter
def cell_count(columns: list[slots.Column]) -> int:
    return sum(column.cells for column in columns)


@register.filter
def add_cells(base: int, columns: list[slots.Column]) -> int:
    """{{ 8|add_cells:columns }}: a colspan that stays right whatever columns are added."""
    return int(base) + cell_count(columns)
