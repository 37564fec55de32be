"""A local fake Auth0 tenant speaking the real wire format (INTEGRATIONS.md section 3).

One threaded HTTP server on 127.0.0.1 serves discovery, the JWKS (rotatable), /authorize
(redirects back with a code), /oauth/token (checks client secret and PKCE, returns an ID
token signed with a test key), /userinfo and /v2/logout, and counts every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt


@dataclass
class RsaKey:
    kid: str
    private_pem: str
    public_pem: str
    public_jwk: dict[str, Any]


def rsa_key(kid: str) -> RsaKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    public = jwk.construct(public_pem, algorithm="RS256").to_dict()
    public_jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, **public}
    public_jwk["kid"] = kid
    return RsaKey(kid, private_pem, public_pem, public_jwk)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims: dict[str, Any], key: RsaKey, *, kid: str | None = None, **headers) -> str:
    return jwt.encode(
        claims, key.private_pem, algorithm="RS256", headers={"kid": kid or key.kid, **headers}
    )


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    user: dict[str, Any]


@dataclass
class FakeAuth0:
    signing_key: RsaKey
    client_id: str = "test-client-id"
    client_secret: str = "test-client-secret"
    published: list[dict[str, Any]] = field(default_factory=list)
    requests: Counter = field(default_factory=Counter)
    codes: dict[str, PendingCode] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def issuer(self) -> str:
        return self.base_url + "/"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/.well-known/jwks.json"

    def publish(self, *keys: RsaKey) -> None:
        self.published = [key.public_jwk for key in keys]

    def discovery(self) -> dict[str, Any]:
        base = self.base_url
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
        }

    def id_token_for(self, pending: PendingCode) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": pending.client_id,
            "iat": now,
            "exp": now + 36000,
            **pending.user,
        }
        if pending.nonce is not None:
            claims["nonce"] = pending.nonce
        claims.update(self.id_token_overrides)
        return sign(claims, self.signing_key)

    def start(self) -> FakeAuth0:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output quiet
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, location: str):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests[url.path] += 1
                if url.path == "/.well-known/jwks.json":
                    return self._json(200, {"keys": fake.published})
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, fake.discovery())
                if url.path == "/authorize":
                    return self._authorize(query)
                if url.path == "/v2/logout":
                    return self._redirect(query.get("returnTo", fake.base_url + "/"))
                if url.path == "/userinfo":
                    return self._json(200, fake.user)
                return self._json(404, {"error": "not_found"})

            def _authorize(self, query: dict[str, str]):
                if query.get("client_id") != fake.client_id:
                    return self._json(
                        400, {"error": "invalid_request", "error_description": "Unknown client"}
                    )
                if query.get("response_type") != "code" or "redirect_uri" not in query:
                    return self._json(400, {"error": "invalid_request"})
                code = secrets.token_urlsafe(16)
                fake.codes[code] = PendingCode(
                    client_id=query["client_id"],
                    redirect_uri=query["redirect_uri"],
                    nonce=query.get("nonce"),
                    code_challenge=query.get("code_challenge"),
                    code_challenge_method=query.get("code_challenge_method"),
                    user=dict(fake.user),
                )
                params = {"code": code}
                if "state" in query:
                    params["state"] = query["state"]
                return self._redirect(f"{query['redirect_uri']}?{urlencode(params)}")

            def do_POST(self):
                url = urlsplit(self.path)
                fake.requests[url.path] += 1
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                fake.token_requests.append(form)
                if url.path != "/oauth/token":
                    return self._json(404, {"error": "not_found"})
                client_id, client_secret = self._client_credentials(form)
                if client_id != fake.client_id or client_secret != fake.client_secret:
                    return self._json(
                        401, {"error": "access_denied", "error_description": "Unauthorized"}
                    )
                value = lambda name: (form.get(name) or [""])[0]  # noqa: E731
                if value("grant_type") != "authorization_code":
                    return self._json(403, {"error": "unsupported_grant_type"})
                pending = fake.codes.pop(value("code"), None)  # a code works once
                if pending is None or pending.redirect_uri != value("redirect_uri"):
                    return self._json(
                        403,
                        {
                            "error": "invalid_grant",
                            "error_description": "Invalid authorization code",
                        },
                    )
                if pending.code_challenge:
                    digest = b64url(hashlib.sha256(value("code_verifier").encode()).digest())
                    if pending.code_challenge_method != "S256" or digest != pending.code_challenge:
                        return self._json(
                            403,
                            {
                                "error": "invalid_grant",
                                "error_description": "Failed to verify code verifier",
                            },
                        )
                return self._json(
                    200,
                    {
                        "access_token": "opaque-" + secrets.token_urlsafe(8),
                        "id_token": fake.id_token_for(pending),
                        "token_type": "Bearer",
                        "expires_in": 86400,
                        "scope": "openid profile email",
                    },
                )

            def _client_credentials(self, form) -> tuple[str, str]:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    from urllib.parse import unquote

                    decoded = base64.b64decode(auth[6:]).decode()
                    client_id, _, secret = decoded.partition(":")
                    return unquote(client_id), unquote(secret)
                return (form.get("client_id") or [""])[0], (form.get("client_secret") or [""])[0]

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
