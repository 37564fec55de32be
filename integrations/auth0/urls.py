from __future__ import annotations

from django.urls import path

from integrations.auth0 import views

urlpatterns = [
    path("login/auth0/", views.auth0_login, name="auth0-login"),
    path("login/auth0/callback/", views.auth0_callback, name="auth0-callback"),
    path("logout/auth0/", views.auth0_logout, name="auth0-logout"),
]
