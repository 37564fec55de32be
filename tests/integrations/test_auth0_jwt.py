"""Auth0 access tokens against a local JWKS server: every forged or wrong token fails with
the right status and a reason a developer can act on; rotation and refetch limits hold."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.auth0 import jwks
from invoices import selectors
from paypredict_project.api import ApiAuthMixin
from paypredict_project.tenancy.models import AuditLog
from tests.factories import InvoiceFactory
from tests.integrations.auth0_fake import FakeAuth0, b64url, rsa_key, sign

API_AUDIENCE = "https://api.paypredict.example"
EMAIL_CLAIM = "https://paypredict.io/email"


# ---------------------------------------------------------------- a tiny API under test
# Shaped like the real ledger endpoints: ApiAuthMixin + HasOrgPermission + scoped selectors.
class InvoiceListApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:invoices", "write": "write:invoices"}

    def get(self, request):
        invoices = selectors.invoice_list(organization=request.organization).order_by("number")
        return Response(
            {
                "results": [invoice.number for invoice in invoices],
                "user": request.user.username,
                "organization": request.organization.slug,
                "permissions": sorted(request.org_permissions),
            }
        )

    def post(self, request):
        return Response({"created": True}, status=201)


class InvoiceDetailApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:invoices"}

    def get(self, request, code):
        invoice = selectors.invoice_get(organization=request.organization, code=code)
        return Response({"number": invoice.number})


urlpatterns = [
    path("t/invoices/", InvoiceListApi.as_view()),
    path("t/invoices/<uuid:code>/", InvoiceDetailApi.as_view()),
]
pytestmark = pytest.mark.urls("tests.integrations.test_auth0_jwt")


# ---------------------------------------------------------------- keys, fake tenant, tokens
@pytest.fixture(scope="module")
def keys():
    return {
        "current": rsa_key("k1-2025-06"),
        "next": rsa_key("k2-2026-01"),
        # An attacker's key that claims the tenant's kid.
        "attacker": rsa_key("k1-2025-06"),
    }


@pytest.fixture
def fake(keys):
    jwks.local_cache_clear()
    server = FakeAuth0(signing_key=keys["current"]).start()
    server.publish(keys["current"])
    yield server
    server.stop()
    jwks.local_cache_clear()


@pytest.fixture
def auth0(settings, fake, org, other_org):
    settings.AUTH0_ISSUER = fake.issuer
    settings.AUTH0_AUDIENCE = API_AUDIENCE
    settings.AUTH0_JWKS_URL = fake.jwks_url
    # Redis outlives a test run and ports get reused: start from an empty key cache.
    jwks.cache_clear()
    org.auth0_org_id = "org_AAAA1111"
    org.save(update_fields=["auth0_org_id"])
    other_org.auth0_org_id = "org_BBBB2222"
    other_org.save(update_fields=["auth0_org_id"])
    return fake


@pytest.fixture
def invoices(org, other_org):
    mine = [InvoiceFactory(customer__organization=org, number=f"A-{i}") for i in range(3)]
    theirs = InvoiceFactory(customer__organization=other_org, number="B-1")
    return mine, theirs


def claims(fake: FakeAuth0, **overrides) -> dict:
    now = int(time.time())
    base = {
        "iss": fake.issuer,
        "sub": "auth0|6650a1b2c3d4e5f6a7b8c9d0",
        "aud": [API_AUDIENCE, f"{fake.issuer}userinfo"],
        "azp": "Xk3nq9ClientIdAbc",
        "iat": now,
        "exp": now + 3600,
        "scope": "openid profile email read:invoices",
        "permissions": ["read:invoices", "write:invoices"],
        "org_id": "org_AAAA1111",
        EMAIL_CLAIM: "dev@acme.example",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    return ".".join(
        [
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(payload).encode()),
            b64url(signature),
        ]
    )


def hs256(payload: dict, secret: bytes, kid: str) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64url(json.dumps(payload).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def call(token: str, method: str = "get", url: str = "/t/invoices/"):
    return getattr(Client(), method)(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_rejected(response, status: int, reason: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["message"].startswith(reason), body["error"]["message"]
    assert b"Traceback" not in response.content and b'File "' not in response.content
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# ---------------------------------------------------------------- the happy path
def test_it_lists_only_the_invoices_of_the_token_organization(auth0, keys, invoices):
    response = call(sign(claims(auth0), keys["current"]))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["results"] == ["A-0", "A-1", "A-2"]
    assert body["organization"] == "org-a"
    assert body["user"] == "auth0|6650a1b2c3d4e5f6a7b8c9d0"
    assert body["permissions"] == ["read:invoices", "write:invoices"]


def test_it_creates_the_user_on_first_sight_with_the_namespaced_email(auth0, keys, invoices):
    from django.contrib.auth import get_user_model

    token = sign(claims(auth0, sub="auth0|first-sight"), keys["current"])
    assert call(token).status_code == 200
    assert call(token).status_code == 200

    users = get_user_model().objects.filter(username="auth0|first-sight")
    assert users.count() == 1
    assert users.get().email == "dev@acme.example"
    assert not users.get().has_usable_password()


def test_it_creates_machine_users_without_email(auth0, keys, invoices):
    from django.contrib.auth import get_user_model

    token = sign(
        claims(auth0, sub="Xk3nq9ClientIdAbc@clients", **{EMAIL_CLAIM: None}), keys["current"]
    )
    assert call(token).status_code == 200
    assert get_user_model().objects.get(username="Xk3nq9ClientIdAbc@clients").email == ""


def test_it_lets_admin_imply_every_permission(auth0, keys, invoices):
    response = call(sign(claims(auth0, permissions=["admin"]), keys["current"]))

    assert response.status_code == 200
    assert set(response.json()["permissions"]) == {
        "admin",
        "read:invoices",
        "write:invoices",
        "read:predictions",
        "manage:disputes",
        "send:reminders",
        "manage:integrations",
    }
    assert (
        call(sign(claims(auth0, permissions=["admin"]), keys["current"]), "post").status_code == 201
    )


def test_it_accepts_a_single_string_audience(auth0, keys, invoices):
    assert call(sign(claims(auth0, aud=API_AUDIENCE), keys["current"])).status_code == 200


def test_it_tolerates_clock_skew_within_the_leeway(auth0, keys, invoices):
    now = int(time.time())
    token = sign(claims(auth0, exp=now - 10, nbf=now + 10, iat=now + 10), keys["current"])
    assert call(token).status_code == 200


def test_it_records_the_token_user_as_the_audit_actor(auth0, keys, org, invoices):
    from invoices.services import customer_create
    from paypredict_project.audit import acting_as

    # The audit middleware runs before DRF; the token's user must still be the actor.
    class CreateApi(ApiAuthMixin, APIView):
        required_permissions = {"write": "write:invoices"}

        def post(self, request):
            customer_create(organization=request.organization, name="Via token")
            return Response(status=201)

    from django.test import RequestFactory

    request = RequestFactory().post(
        "/x/", HTTP_AUTHORIZATION=f"Bearer {sign(claims(auth0), keys['current'])}"
    )
    request.user = __import__("django.contrib.auth.models", fromlist=["x"]).AnonymousUser()
    with acting_as(None):
        response = CreateApi.as_view()(request)
    assert response.status_code == 201
    entry = AuditLog.objects.filter(organization=org, object_type="customer").latest("id")
    assert entry.actor.username == "auth0|6650a1b2c3d4e5f6a7b8c9d0"
    assert entry.actor_label == "dev@acme.example"


# ---------------------------------------------------------------- bad tokens: 401 / 403
def _bad_tokens():
    """(case, builder(fake, keys) -> token, expected status, expected reason prefix)."""
    now = int(time.time())
    return [
        (
            "alg none",
            lambda f, k: unsigned(
                {"alg": "none", "typ": "JWT", "kid": k["current"].kid}, claims(f)
            ),
            401,
            "unsupported algorithm none",
        ),
        (
            "alg none, no signature dot",
            lambda f, k: unsigned({"alg": "none"}, claims(f))[:-1],
            401,
            "malformed token",
        ),
        (
            "HS256 signed with the public key PEM",
            lambda f, k: hs256(claims(f), k["current"].public_pem.encode(), k["current"].kid),
            401,
            "unsupported algorithm HS256",
        ),
        (
            "HS256 signed with the public JWK",
            lambda f, k: hs256(
                claims(f), json.dumps(k["current"].public_jwk).encode(), k["current"].kid
            ),
            401,
            "unsupported algorithm HS256",
        ),
        (
            "RS512 by the right key",
            lambda f, k: __import__("jose.jwt", fromlist=["x"]).encode(
                claims(f),
                k["current"].private_pem,
                algorithm="RS512",
                headers={"kid": k["current"].kid},
            ),
            401,
            "unsupported algorithm RS512",
        ),
        (
            "RS256 by another key with the same kid",
            lambda f, k: sign(claims(f), k["attacker"]),
            401,
            "signature verification failed",
        ),
        (
            "expired",
            lambda f, k: sign(claims(f, iat=now - 7200, exp=now - 3600), k["current"]),
            401,
            "token expired",
        ),
        (
            "expired just past the leeway",
            lambda f, k: sign(claims(f, exp=now - 45), k["current"]),
            401,
            "token expired",
        ),
        (
            "nbf in the future",
            lambda f, k: sign(claims(f, nbf=now + 600), k["current"]),
            401,
            "token not yet valid",
        ),
        (
            "iat in the future",
            lambda f, k: sign(claims(f, iat=now + 600), k["current"]),
            401,
            "token not yet valid",
        ),
        (
            "wrong issuer (other tenant)",
            lambda f, k: sign(claims(f, iss="https://evil.eu.auth0.com/"), k["current"]),
            401,
            "issuer mismatch",
        ),
        (
            "issuer without the trailing slash",
            lambda f, k: sign(claims(f, iss=f.issuer.rstrip("/")), k["current"]),
            401,
            "issuer mismatch",
        ),
        ("no issuer", lambda f, k: sign(claims(f, iss=None), k["current"]), 401, "issuer mismatch"),
        (
            "wrong audience",
            lambda f, k: sign(claims(f, aud="https://api.other.example"), k["current"]),
            401,
            "audience mismatch",
        ),
        (
            "audience list without ours",
            lambda f, k: sign(
                claims(f, aud=["https://api.other.example", f"{f.issuer}userinfo"]), k["current"]
            ),
            401,
            "audience mismatch",
        ),
        (
            "no audience",
            lambda f, k: sign(claims(f, aud=None), k["current"]),
            401,
            "audience mismatch",
        ),
        (
            "unknown kid",
            lambda f, k: sign(claims(f), k["next"]),
            401,
            "unknown signing key 'k2-2026-01'",
        ),
        (
            "no kid",
            lambda f, k: __import__("jose.jwt", fromlist=["x"]).encode(
                claims(f), k["current"].private_pem, algorithm="RS256"
            ),
            401,
            "malformed token: the header has no kid",
        ),
        ("tampered payload", lambda f, k: _tampered(f, k), 401, "signature verification failed"),
        (
            "truncated signature",
            lambda f, k: sign(claims(f), k["current"])[:-20],
            401,
            "signature verification failed",
        ),
        (
            "truncated to two segments",
            lambda f, k: sign(claims(f), k["current"]).rsplit(".", 1)[0],
            401,
            "malformed token",
        ),
        ("garbage", lambda f, k: "not-a-jwt", 401, "malformed token"),
        ("garbage in three segments", lambda f, k: "abc.def.ghi", 401, "malformed token"),
        (
            "payload is a JSON list",
            lambda f, k: _signed_raw(b"[1, 2]", k["current"]),
            401,
            "malformed token: the payload is not a JSON object",
        ),
        (
            "oversized",
            lambda f, k: sign(claims(f, padding="x" * 9000), k["current"]),
            401,
            "token too large",
        ),
        (
            "missing exp",
            lambda f, k: sign(claims(f, exp=None), k["current"]),
            401,
            "token has no exp claim",
        ),
        (
            "exp as a string",
            lambda f, k: sign(claims(f, exp=str(now + 3600)), k["current"]),
            401,
            "malformed token: exp must be a number",
        ),
        (
            "exp absurdly far in the future",
            lambda f, k: sign(claims(f, exp=10**400), k["current"]),
            401,
            "malformed token: exp is not a plausible time",
        ),
        (
            "missing sub",
            lambda f, k: sign(claims(f, sub=None), k["current"]),
            401,
            "token has no sub claim",
        ),
        (
            "permissions not a list",
            lambda f, k: sign(claims(f, permissions="read:invoices"), k["current"]),
            401,
            "malformed token: permissions must be a list",
        ),
        (
            "missing org_id",
            lambda f, k: sign(claims(f, org_id=None), k["current"]),
            403,
            "token has no org_id claim",
        ),
        (
            "unknown org_id",
            lambda f, k: sign(claims(f, org_id="org_ZZZZ9999"), k["current"]),
            403,
            "unknown organization 'org_ZZZZ9999'",
        ),
        (
            "no permissions claim",
            lambda f, k: sign(claims(f, permissions=None), k["current"]),
            403,
            "missing permission read:invoices",
        ),
        (
            "permission for another endpoint only",
            lambda f, k: sign(claims(f, permissions=["read:predictions"]), k["current"]),
            403,
            "missing permission read:invoices",
        ),
    ]


def _tampered(fake, keys) -> str:
    head, body, sig = sign(claims(fake, org_id="org_BBBB2222"), keys["current"]).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["org_id"] = "org_AAAA1111"
    payload["permissions"] = ["admin"]
    return f"{head}.{b64url(json.dumps(payload).encode())}.{sig}"


def _signed_raw(payload: bytes, key) -> str:
    from jose import jws

    return jws.sign(payload, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


BAD_TOKENS = _bad_tokens()


@pytest.mark.parametrize(
    ("builder", "status", "reason"),
    [case[1:] for case in BAD_TOKENS],
    ids=[case[0] for case in BAD_TOKENS],
)
def test_it_rejects_bad_tokens_with_a_reason(auth0, keys, invoices, builder, status, reason):
    response = call(builder(auth0, keys))

    assert_rejected(response, status, reason)


def test_it_counts_at_least_twenty_bad_token_cases():
    assert len(BAD_TOKENS) >= 20


def test_it_refuses_a_write_with_a_read_only_token(auth0, keys, invoices):
    token = sign(claims(auth0, permissions=["read:invoices"]), keys["current"])

    assert call(token).status_code == 200
    assert_rejected(call(token, "post"), 403, "missing permission write:invoices")


def test_it_hides_another_organizations_invoice(auth0, keys, invoices):
    mine, theirs = invoices
    token_b = sign(claims(auth0, org_id="org_BBBB2222"), keys["current"])

    assert call(token_b, url=f"/t/invoices/{theirs.code}/").json() == {"number": "B-1"}
    assert_rejected(call(token_b, url=f"/t/invoices/{mine[0].code}/"), 404, "No invoice matches")
    assert call(token_b).json()["results"] == ["B-1"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Bearer", "malformed Authorization header"),
        ("Bearer a b", "malformed Authorization header"),
    ],
)
def test_it_rejects_malformed_authorization_headers(auth0, header, reason):
    assert_rejected(Client().get("/t/invoices/", HTTP_AUTHORIZATION=header), 401, reason)


def test_it_answers_401_without_credentials_when_auth0_is_on(auth0):
    response = Client().get("/t/invoices/")

    assert_rejected(response, 401, "Authentication credentials were not provided")


def test_it_rejects_an_oversized_header_before_parsing(auth0, fake):
    response = Client().get("/t/invoices/", HTTP_AUTHORIZATION="Bearer " + "A" * 20000)

    assert_rejected(response, 401, "token too large")
    assert fake.requests["/.well-known/jwks.json"] == 0


def test_it_rejects_forged_algorithms_without_touching_the_jwks(auth0, keys):
    for token in (
        unsigned({"alg": "none", "kid": "k1-2025-06"}, claims(auth0)),
        hs256(claims(auth0), keys["current"].public_pem.encode(), "k1-2025-06"),
    ):
        assert call(token).status_code == 401
    assert auth0.requests["/.well-known/jwks.json"] == 0


# ---------------------------------------------------------------- JWKS cache, refetch, rotation
def test_it_fetches_the_jwks_once_for_many_requests(auth0, keys, invoices):
    token = sign(claims(auth0), keys["current"])
    for _ in range(5):
        assert call(token).status_code == 200
    assert auth0.requests["/.well-known/jwks.json"] == 1

    # Another process (empty in-process cache) is served from Redis, not from Auth0.
    jwks.local_cache_clear()
    assert call(token).status_code == 200
    assert auth0.requests["/.well-known/jwks.json"] == 1


def test_it_refetches_exactly_once_for_an_unknown_kid(auth0, keys, invoices):
    assert call(sign(claims(auth0), keys["current"])).status_code == 200
    assert auth0.requests["/.well-known/jwks.json"] == 1

    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        assert_rejected(
            call(sign(claims(auth0), keys["current"], kid=kid)), 401, "unknown signing key"
        )
    assert auth0.requests["/.well-known/jwks.json"] == 2


def test_it_limits_a_flood_of_unknown_kids_to_one_refetch(auth0, keys, invoices):
    assert call(sign(claims(auth0), keys["current"])).status_code == 200
    for i in range(50):
        token = sign(claims(auth0), keys["current"], kid=f"flood-{i}")
        assert call(token).status_code == 401
    assert auth0.requests["/.well-known/jwks.json"] <= 2

    # The limit is cluster-wide: a fresh process (empty local state) does not refetch either.
    jwks.local_cache_clear()
    assert call(sign(claims(auth0), keys["current"], kid="flood-x")).status_code == 401
    assert auth0.requests["/.well-known/jwks.json"] <= 2


def test_it_accepts_a_newly_published_key_without_restart(auth0, keys, invoices):
    assert call(sign(claims(auth0), keys["current"])).status_code == 200

    # Auth0 rotation: the JWKS lists current and next, then tokens are signed by next.
    auth0.publish(keys["current"], keys["next"])
    assert call(sign(claims(auth0), keys["next"])).status_code == 200
    assert call(sign(claims(auth0), keys["current"])).status_code == 200
    assert auth0.requests["/.well-known/jwks.json"] == 2


def test_it_picks_up_a_rotation_another_process_already_fetched(auth0, keys, invoices):
    assert call(sign(claims(auth0), keys["current"])).status_code == 200
    auth0.publish(keys["current"], keys["next"])
    assert call(sign(claims(auth0), keys["next"])).status_code == 200  # this "process" refetches

    # A process still holding the old set locally finds the new key in Redis.
    jwks._local[auth0.jwks_url] = jwks._Entry(
        {keys["current"].kid: keys["current"].public_jwk}, time.monotonic()
    )
    jwks._local_refetch_at.clear()
    assert call(sign(claims(auth0), keys["next"])).status_code == 200
    assert auth0.requests["/.well-known/jwks.json"] == 2


def test_it_refetches_once_after_a_signature_failure_then_stops(auth0, keys, invoices):
    assert call(sign(claims(auth0), keys["current"])).status_code == 200

    for _ in range(3):
        assert_rejected(call(sign(claims(auth0), keys["attacker"])), 401, "signature verification")
    assert auth0.requests["/.well-known/jwks.json"] == 2


def test_it_heals_when_a_kid_is_republished_with_a_new_key(auth0, keys, invoices):
    assert call(sign(claims(auth0), keys["current"])).status_code == 200

    replacement = keys["attacker"]  # same kid, new key material, now the tenant's real key
    auth0.publish(replacement)
    assert call(sign(claims(auth0), replacement)).status_code == 200
    assert auth0.requests["/.well-known/jwks.json"] == 2


def test_it_fetches_once_when_many_threads_start_cold(auth0, keys):
    from concurrent.futures import ThreadPoolExecutor

    from integrations.auth0 import tokens

    token = sign(claims(auth0), keys["current"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        subs = list(pool.map(lambda _: tokens.access_token_validate(token)["sub"], range(16)))

    assert subs == ["auth0|6650a1b2c3d4e5f6a7b8c9d0"] * 16
    assert auth0.requests["/.well-known/jwks.json"] == 1


def test_it_answers_503_when_the_jwks_cannot_be_fetched(auth0, keys, settings):
    settings.AUTH0_JWKS_URL = auth0.base_url + "/missing.json"

    response = call(sign(claims(auth0), keys["current"]))
    assert response.status_code == 503
    assert "signing keys unavailable" in response.json()["error"]["message"]
    assert "HTTP 404" in response.json()["error"]["message"]
    # A failed fetch backs off instead of hitting the endpoint on every request.
    assert call(sign(claims(auth0), keys["current"])).status_code == 503
    assert auth0.requests["/missing.json"] == 1


def test_it_refuses_a_plain_http_jwks_url_off_loopback(auth0, keys, settings):
    settings.AUTH0_JWKS_URL = "http://tenant.example/.well-known/jwks.json"

    response = call(sign(claims(auth0), keys["current"]))
    assert response.status_code == 503
    assert "must be https" in response.json()["error"]["message"]


def test_it_ignores_non_rsa_and_encryption_keys_in_the_jwks():
    document = {
        "keys": [
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "a", "y": "b"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "n", "e": "AQAB"},
            {"kty": "RSA", "kid": "hs", "alg": "HS256", "n": "n", "e": "AQAB"},
            {"kty": "RSA", "n": "n", "e": "AQAB"},
            {"kty": "RSA", "kid": "ok", "use": "sig", "n": "n", "e": "AQAB", "x5c": ["..."]},
        ]
    }
    assert jwks.parse_jwks(json.dumps(document).encode()) == {
        "ok": {"kty": "RSA", "kid": "ok", "n": "n", "e": "AQAB"}
    }


# ---------------------------------------------------------------- Auth0 switched off
def test_it_steps_aside_when_auth0_is_not_configured(settings, fake, keys, owner_client, invoices):
    settings.AUTH0_AUDIENCE = ""
    settings.AUTH0_JWKS_URL = ""

    token_response = Client().get("/t/invoices/", HTTP_AUTHORIZATION="Bearer whatever")
    # The token is refused with the reason (not "credentials were not provided").
    assert token_response.status_code == 401
    assert "bearer tokens are not enabled" in token_response.json()["error"]["message"]
    assert Client().get("/t/invoices/").status_code == 403  # no token: session auth only
    assert owner_client.get("/t/invoices/").json()["results"] == ["A-0", "A-1", "A-2"]
    assert fake.requests["/.well-known/jwks.json"] == 0
