from __future__ import annotations

from paypredict_project.tenancy.selectors import memberships_for_user

SESSION_KEY = "organization_code"


def current_membership(request):
    """The membership the user chose (kept in the session), else their first one."""
    memberships = list(memberships_for_user(user=request.user))
    if not memberships:
        return None
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if str(membership.organization.code) == chosen:
            return membership
    return memberships[0]


class OrganizationMiddleware:
    """Sets request.membership, request.organization and request.org_permissions.

    For session users these come from the chosen membership. API authentication
    (Auth0 JWT) sets the same three attributes from the token's claims, so the
    permission layer reads one shape whatever authenticated the request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = current_membership(request) if request.user.is_authenticated else None
        request.membership = membership
        request.organization = membership.organization if membership else None
        request.org_permissions = membership.permissions if membership else frozenset()
        return self.get_response(request)
