from __future__ import annotations

from paypredict_project.tenancy.selectors import memberships_for_user


def organization(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "current_membership": membership,
        "current_organization": membership.organization if membership else None,
        "org_permissions": getattr(request, "org_permissions", frozenset()),
        "all_memberships": memberships_for_user(user=user),
    }
