"""The one place that scopes reads to an organization.

Every queryset used by views, the API, exports and tasks passes through
``scoped()``: a missing organization is a programming error, not an empty list.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from paypredict_project.tenancy.models import Membership, Organization

M = TypeVar("M", bound=Model)


def scoped(queryset: QuerySet[M], *, organization: Organization | None) -> QuerySet[M]:
    if not organization:
        raise PermissionError("no organization selected: refusing an unscoped query")
    return queryset.filter(organization=organization)


def get_scoped_or_404(queryset: QuerySet[M], *, organization: Organization | None, **lookup) -> M:
    try:
        return scoped(queryset, organization=organization).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


def organization_get_by_slug(*, slug: str) -> Organization:
    try:
        return Organization.objects.get(slug=slug)
    except Organization.DoesNotExist as exc:
        raise Organization.DoesNotExist(f"no organization with slug {slug!r}") from exc


def memberships_for_user(*, user) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )
