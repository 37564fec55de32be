from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from paypredict_project.tenancy.middleware import SESSION_KEY
from paypredict_project.tenancy.selectors import memberships_for_user


@login_required
@require_POST
def organization_switch(request):
    code = request.POST.get("organization", "")
    if not memberships_for_user(user=request.user).filter(organization__code__iexact=code).exists():
        raise Http404("no such organization for this user")
    request.session[SESSION_KEY] = code
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
