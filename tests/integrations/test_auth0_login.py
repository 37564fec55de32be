"""Dashboard login through Auth0, end to end against a local fake OIDC provider:
authorize redirect (state, nonce, PKCE), code exchange, ID-token checks, memberships, logout."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client

from integrations.auth0 import jwks
from paypredict_project.tenancy.middleware import SESSION_KEY
from paypredict_project.tenancy.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.integrations.auth0_fake import FakeAuth0, rsa_key


@pytest.fixture(scope="module")
def keys():
    return {"current": rsa_key("k1-2025-06"), "attacker": rsa_key("k1-2025-06")}


@pytest.fixture
def fake(keys):
    jwks.local_cache_clear()
    server = FakeAuth0(signing_key=keys["current"]).start()
    server.publish(keys["current"])
    yield server
    server.stop()
    jwks.local_cache_clear()


@pytest.fixture
def auth0(settings, fake):
    settings.AUTH0_ISSUER = fake.issuer
    settings.AUTH0_JWKS_URL = fake.jwks_url
    settings.AUTH0_CLIENT_ID = fake.client_id
    settings.AUTH0_CLIENT_SECRET = fake.client_secret
    settings.AUTH0_LOGOUT_URL = fake.base_url + "/v2/logout"
    settings.SITE_URL = "http://testserver"
    jwks.cache_clear()  # Redis outlives a test run and ports get reused
    return fake


def profile(user, **extra) -> dict:
    return {
        "sub": f"auth0|{user.pk}",
        "email": user.email.upper(),  # Auth0 keeps the case users typed
        "email_verified": True,
        "name": "Test Person",
        **extra,
    }


def start(client: Client, url: str = "/login/auth0/") -> str:
    response = client.get(url)
    assert response.status_code == 302, response.content
    return response["Location"]


def authorize(location: str) -> str:
    """The browser at Auth0: the fake logs the user in and redirects back with a code."""
    response = httpx.get(location, follow_redirects=False)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == "http://testserver"
    return f"{back.path}?{back.query}"


def login(client: Client, fake: FakeAuth0, url: str = "/login/auth0/"):
    return client.get(authorize(start(client, url)))


def logged_in_user_id(client: Client):
    return client.session.get("_auth_user_id")


# ---------------------------------------------------------------- the happy path
def test_it_logs_a_member_in_through_auth0(auth0, owner):
    auth0.user = profile(owner)
    client = Client()

    location = start(client)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(auth0.base_url + "/authorize?")
    assert query["client_id"] == auth0.client_id
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/login/auth0/callback/"
    assert set(query["scope"].split()) == {"openid", "profile", "email"}
    assert query["state"] and query["nonce"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43

    response = client.get(authorize(location))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user_id(client) == str(owner.pk)
    assert client.session["auth0_login"] is True
    exchange = auth0.token_requests[-1]
    assert exchange["grant_type"] == ["authorization_code"]
    assert len(exchange["code_verifier"][0]) >= 43  # PKCE verifier checked by the fake
    assert client.get("/").status_code == 200


def test_it_returns_to_the_page_the_user_asked_for(auth0, owner):
    auth0.user = profile(owner)
    client = Client()

    response = login(client, auth0, "/login/auth0/?next=/invoices/")
    assert response["Location"] == "/invoices/"

    evil = Client()
    assert login(evil, auth0, "/login/auth0/?next=https://evil.example/").status_code == 302
    assert "evil" not in login(evil, auth0, "/login/auth0/?next=https://evil.example/")["Location"]


def test_it_opens_the_organization_named_by_the_id_token(auth0, owner, other_org):
    MembershipFactory(user=owner, organization=other_org, role=Role.VIEWER)
    other_org.auth0_org_id = "org_BBBB2222"
    other_org.save(update_fields=["auth0_org_id"])
    auth0.user = profile(owner, org_id="org_BBBB2222")
    client = Client()

    login(client, auth0, "/login/auth0/?organization=org_BBBB2222")

    assert client.session[SESSION_KEY] == str(other_org.code)


def test_it_passes_the_auth0_organization_to_authorize(auth0, owner):
    query = parse_qs(urlsplit(start(Client(), "/login/auth0/?organization=org_AB12")).query)
    assert query["organization"] == ["org_AB12"]
    query = parse_qs(urlsplit(start(Client(), "/login/auth0/?organization=x&y")).query)
    assert "organization" not in query


def test_it_finds_a_user_first_seen_through_an_api_token_by_sub(auth0, org):
    user = UserFactory(username="auth0|api-first", email="")
    MembershipFactory(user=user, organization=org, role=Role.COLLECTOR)
    auth0.user = {"sub": "auth0|api-first", "email_verified": False}
    client = Client()

    assert login(client, auth0).status_code == 302
    assert logged_in_user_id(client) == str(user.pk)


def test_it_fetches_discovery_once_per_process(auth0, owner):
    auth0.user = profile(owner)
    login(Client(), auth0)
    login(Client(), auth0)
    assert auth0.requests["/.well-known/openid-configuration"] == 1
    assert auth0.requests["/.well-known/jwks.json"] == 1


# ---------------------------------------------------------------- refused logins
def test_it_explains_when_the_user_has_no_membership(auth0, db):
    stranger = UserFactory(email="stranger@acme.example")
    auth0.user = profile(stranger)
    client = Client()

    response = login(client, auth0)

    assert response.status_code == 403
    assert b"You have no access to any organization" in response.content
    assert b"stranger@acme.example has no access to any organization" in response.content
    assert b"ask your admin" in response.content
    assert logged_in_user_id(client) is None


def test_it_does_not_match_an_unverified_email(auth0, owner):
    auth0.user = profile(owner, email_verified=False, sub="auth0|someone-else")
    client = Client()

    response = login(client, auth0)

    assert response.status_code == 403
    assert b"has not verified the e-mail address" in response.content
    assert logged_in_user_id(client) is None


def test_it_refuses_an_inactive_user(auth0, owner):
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    auth0.user = profile(owner)
    client = Client()

    assert login(client, auth0).status_code == 403
    assert logged_in_user_id(client) is None


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"nonce": "a-nonce-from-another-login"}, b"nonce mismatch"),
        ({"nonce": None}, b"nonce mismatch"),
        ({"aud": "some-other-client"}, b"audience mismatch"),
        ({"aud": ["some-other-client", "test-client-id"]}, b"authorized party mismatch"),
        ({"iss": "https://evil.eu.auth0.com/"}, b"issuer mismatch"),
        ({"exp": int(time.time()) - 3600}, b"token expired"),
        ({"exp": None}, b"token has no exp claim"),
    ],
    ids=[
        "wrong nonce",
        "no nonce",
        "wrong audience",
        "azp missing",
        "wrong issuer",
        "expired",
        "no exp",
    ],
)
def test_it_rejects_a_bad_id_token(auth0, owner, overrides, reason):
    auth0.user = profile(owner)
    auth0.id_token_overrides = overrides
    client = Client()

    response = login(client, auth0)

    assert response.status_code == 400
    assert b"ID token rejected: " + reason in response.content
    assert logged_in_user_id(client) is None


def test_it_rejects_an_id_token_signed_by_another_key(auth0, owner, keys):
    auth0.user = profile(owner)
    auth0.signing_key = keys["attacker"]
    client = Client()

    response = login(client, auth0)

    assert response.status_code == 400
    assert b"signature verification failed" in response.content
    assert logged_in_user_id(client) is None


def test_it_rejects_a_bad_state_without_exchanging_the_code(auth0, owner):
    auth0.user = profile(owner)
    client = Client()
    callback = authorize(start(client))
    forged = callback.replace("state=", "state=forged")

    response = client.get(forged)

    assert response.status_code == 400
    assert b"login state mismatch" in response.content
    assert auth0.requests["/oauth/token"] == 0
    assert logged_in_user_id(client) is None


def test_it_rejects_a_callback_from_another_browser(auth0, owner):
    auth0.user = profile(owner)
    callback = authorize(start(Client()))

    attacker = Client()
    response = attacker.get(callback)

    assert response.status_code == 400
    assert b"login state mismatch" in response.content
    assert logged_in_user_id(attacker) is None


def test_it_refuses_to_replay_a_callback(auth0, owner):
    auth0.user = profile(owner)
    client = Client()
    callback = authorize(start(client))
    assert client.get(callback).status_code == 302
    client.logout()

    response = client.get(callback)
    assert response.status_code == 400
    assert b"login state mismatch" in response.content


def test_it_reports_an_error_auth0_sent_back(auth0, db):
    client = Client()
    start(client)

    response = client.get(
        "/login/auth0/callback/?error=access_denied&error_description=User+cancelled"
    )

    assert response.status_code == 400
    assert b"Auth0 refused the login: User cancelled" in response.content


def test_it_reports_a_failed_code_exchange(auth0, owner):
    auth0.user = profile(owner)
    auth0.client_secret = "rotated-secret"  # our configured secret is now wrong
    client = Client()

    response = login(client, auth0)

    assert response.status_code == 400
    assert b"code exchange failed: access_denied" in response.content
    assert logged_in_user_id(client) is None


def test_it_explains_when_auth0_is_unreachable(auth0, settings, db):
    settings.AUTH0_ISSUER = "http://127.0.0.1:9/"  # discard port: connection refused

    response = Client().get("/login/auth0/")

    assert response.status_code == 502
    assert b"cannot reach Auth0" in response.content


# ---------------------------------------------------------------- logout
def test_it_logs_out_of_auth0_too(auth0, owner):
    auth0.user = profile(owner)
    client = Client()
    login(client, auth0)

    response = client.post("/logout/auth0/")

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == auth0.base_url + "/v2/logout"
    assert parse_qs(target.query) == {
        "client_id": [auth0.client_id],
        "returnTo": ["http://testserver/login/"],
    }
    assert logged_in_user_id(client) is None
    back = httpx.get(response["Location"], follow_redirects=False)
    assert back.headers["location"] == "http://testserver/login/"
    assert auth0.requests["/v2/logout"] == 1


def test_it_logs_a_password_user_out_locally(auth0, owner_client):
    response = owner_client.post("/logout/auth0/")

    assert response["Location"] == "/login/"
    assert logged_in_user_id(owner_client) is None


def test_it_only_logs_out_on_post(auth0, owner_client):
    assert owner_client.get("/logout/auth0/").status_code == 405


# ---------------------------------------------------------------- switched off / login page
def test_it_hides_auth0_login_when_not_configured(settings, db):
    settings.AUTH0_CLIENT_ID = ""
    settings.AUTH0_CLIENT_SECRET = ""
    client = Client()

    assert b"Log in with Auth0" not in client.get("/login/").content
    assert client.get("/login/auth0/").status_code == 404
    assert client.get("/login/auth0/callback/?code=x&state=y").status_code == 404


def test_it_offers_auth0_login_when_configured(auth0, db):
    page = Client().get("/login/?next=/invoices/").content.decode()

    assert "Log in with Auth0" in page
    assert 'href="/login/auth0/?next=/invoices/"' in page
