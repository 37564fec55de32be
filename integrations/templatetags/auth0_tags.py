from __future__ import annotations

from django import template

from integrations.auth0.login import dashboard_login_enabled

register = template.Library()


@register.simple_tag
def auth0_login_enabled() -> bool:
    """True when "Log in with Auth0" should be offered (AUTH0_CLIENT_ID/SECRET set)."""
    return dashboard_login_enabled()
