"""Validating Auth0 JWTs: a thin wrapper around python-jose, RS256 only.

python-jose (``jws.verify``) checks the signature, with ``algorithms=["RS256"]`` and the JWK chosen
by ``kid`` (never the whole key set: python-jose would try every key). The claims are then
checked here, explicitly, because python-jose's defaults are weak: it skips ``aud`` when the
claim is missing, ``exp``/``nbf`` when absent, and takes ``audience`` only as a string.
Every failure raises ``TokenInvalid`` whose message is a reason a developer can act on.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import re
import time
from typing import Any

from django.conf import settings
from jose import jwk, jws, jwt
from jose.exceptions import JOSEError

from integrations.auth0 import jwks

ALGORITHM = "RS256"
MAX_TOKEN_BYTES = 8 * 1024  # Auth0 access tokens are ~1 KiB; anything past 8 KiB is abuse
LEEWAY = 30  # seconds of clock skew tolerated on exp / nbf / iat

_JWS_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class TokenInvalid(Exception):
    """The token is not acceptable; ``str(exc)`` says why."""


def access_token_validate(token: str, *, now: float | None = None) -> dict[str, Any]:
    """Claims of a valid Auth0 access token for our API (AUTH0_AUDIENCE, AUTH0_ISSUER)."""
    claims = _verified_claims(token)
    _check_times(claims, now=time.time() if now is None else now)
    _check_issuer(claims, settings.AUTH0_ISSUER)
    _check_audience(claims, settings.AUTH0_AUDIENCE)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenInvalid("token has no sub claim")
    return claims


def id_token_validate(token: str, *, nonce: str, now: float | None = None) -> dict[str, Any]:
    """Claims of a valid OIDC ID token issued to our dashboard application (AUTH0_CLIENT_ID)."""
    client_id = settings.AUTH0_CLIENT_ID
    claims = _verified_claims(token)
    _check_times(claims, now=time.time() if now is None else now)
    _check_issuer(claims, settings.AUTH0_ISSUER)
    _check_audience(claims, client_id)
    # With several audiences, OIDC Core 3.1.3.7 says azp must name us.
    if (
        isinstance(claims["aud"], list)
        and len(claims["aud"]) > 1
        and claims.get("azp") != client_id
    ):
        raise TokenInvalid(f"authorized party mismatch: azp must be {client_id}")
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise TokenInvalid("nonce mismatch: the ID token was not issued for this login attempt")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenInvalid("token has no sub claim")
    return claims


def _verified_claims(token: str) -> dict[str, Any]:
    # Size and shape first: nothing is decoded until the token is small and well-formed.
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenInvalid(f"token too large: more than {MAX_TOKEN_BYTES} bytes")
    if not _JWS_SHAPE.match(token):
        raise TokenInvalid("malformed token: expected three base64url segments")
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise TokenInvalid("malformed token: the header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise TokenInvalid("malformed token: the header is not a JSON object")
    # The algorithm is pinned before any key is looked up: alg=none and HS256-with-the-public-
    # key (CVE-2024-33663) die here, whatever python-jose would do with them.
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenInvalid(f"unsupported algorithm {str(alg)[:32]}: only {ALGORITHM} is accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenInvalid("malformed token: the header has no kid")
    key = jwks.signing_key_get(kid=kid)  # JwksUnavailable propagates: a 503, not a verdict
    if key is None:
        raise TokenInvalid(f"unknown signing key {kid[:64]!r}: not in the Auth0 JWKS")
    try:
        payload = _verify(token, key)
    except JOSEError as exc:
        try:
            fresh = jwks.signing_key_refreshed(kid=kid, current=key)
        except jwks.JwksUnavailable:
            fresh = None  # the key we hold already said no; an outage does not change that
        if fresh is None:
            raise TokenInvalid("signature verification failed") from exc
        try:
            payload = _verify(token, fresh)
        except JOSEError as retry_exc:
            raise TokenInvalid("signature verification failed") from retry_exc
    try:
        claims = json.loads(payload)
    except ValueError as exc:
        raise TokenInvalid("malformed token: the payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise TokenInvalid("malformed token: the payload is not a JSON object")
    return claims


def _verify(token: str, key: dict[str, Any]) -> bytes:
    return jws.verify(token, _public_key(key["kid"], key["n"], key["e"]), [ALGORITHM])


@functools.lru_cache(maxsize=32)
def _public_key(kid: str, n: str, e: str) -> jwk.Key:
    # Building the RSA key from n/e costs more than verifying; keyed by the material itself,
    # so a rotated key (new n/e) is never served from a stale entry.
    return jwk.construct({"kty": "RSA", "kid": kid, "n": n, "e": e}, ALGORITHM)


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"malformed token: {name} must be a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or abs(seconds) > 1e11:  # beyond year 5000: not a time
        raise TokenInvalid(f"malformed token: {name} is not a plausible time")
    return seconds


def _check_times(claims: dict[str, Any], *, now: float) -> None:
    exp = _number(claims, "exp")
    if exp is None:
        raise TokenInvalid("token has no exp claim")
    if now > exp + LEEWAY:
        raise TokenInvalid("token expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + LEEWAY < nbf:
        raise TokenInvalid("token not yet valid: nbf is in the future")
    iat = _number(claims, "iat")
    if iat is not None and now + LEEWAY < iat:
        raise TokenInvalid("token not yet valid: iat is in the future")


def _check_issuer(claims: dict[str, Any], expected: str) -> None:
    if claims.get("iss") != expected:
        raise TokenInvalid(f"issuer mismatch: expected {expected}")


def _check_audience(claims: dict[str, Any], expected: str) -> None:
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not expected or expected not in audiences:
        raise TokenInvalid(f"audience mismatch: expected {expected}")
