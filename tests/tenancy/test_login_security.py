"""Failed-login throttling (django-axes) and demo logins only on the embedded database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from paypredict_project.tenancy.models import Organization

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-password-1"


@pytest.fixture
def account(owner):
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    return owner


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_it_refuses_the_right_password_after_repeated_failures(account, settings):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [_login(client, account.username, "wrong").status_code for _ in range(limit)]
    assert statuses == [200] * (limit - 1) + [429]
    # Another address does not help either: the account itself is locked.
    response = _login(client, account.username, PASSWORD, ip="10.0.0.99")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_locks_an_address_that_guesses_many_accounts(account, settings):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{n}@example.com", "wrong", ip="10.0.0.7")
    assert _login(client, account.username, PASSWORD, ip="10.0.0.7").status_code == 429
    # The account was never attacked: from elsewhere it logs in.
    assert _login(Client(), account.username, PASSWORD, ip="10.0.0.8").status_code == 302


def test_it_still_logs_in_after_a_few_mistakes(account, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, account.username, "wrong")
    response = _login(client, account.username, PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(account.pk)


def _bootstrap() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "bootstrap_demo", customers=3, invoices=20, skip_models=True, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def test_it_creates_no_demo_logins_on_a_configured_database(settings):
    settings.EMBEDDED_DATABASE = False
    out, _ = _bootstrap()
    assert Organization.objects.filter(slug="demo").exists()
    assert not get_user_model().objects.filter(username__endswith="@paypredict.local").exists()
    assert "No demo logins" in out and "demo-password" not in out


def test_it_warns_about_demo_logins_when_debug_is_off(settings):
    settings.EMBEDDED_DATABASE = True
    settings.DEBUG = False
    out, err = _bootstrap()
    assert "demo@paypredict.local / demo-password" in out
    assert "WARNING: DEBUG is off" in err
    settings.DEBUG = True
    assert "WARNING" not in _bootstrap()[1]
