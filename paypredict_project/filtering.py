"""Query-parameter filters that refuse what they do not understand (base layer).

django-filter's BooleanFilter reads ``?overdue=maybe`` as "no filter" and answers 200 with
everything; a caller never learns the typo. These say which parameter is wrong.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms

TRUE_VALUES = ("true", "1", "yes", "on")
FALSE_VALUES = ("false", "0", "no", "off")


class StrictBooleanField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        if value in (None, "") or isinstance(value, bool):
            return value if isinstance(value, bool) else None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError(f"must be true or false, got {value!r}", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField
