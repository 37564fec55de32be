"""The token side both accounting fakes share: Basic client auth, codes, rotating refresh
tokens (an old one answers ``invalid_grant``, after an optional grace period), access tokens
that expire or can be killed, and revocation."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field

from tests.fakes.http_base import Request, Response, json_response


@dataclass
class OAuthState:
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    access_lifetime: int = 3600
    # Seconds an old refresh token still works after rotation (Xero: 30 minutes; QuickBooks: 0).
    grace_seconds: float = 0
    refresh_token: str = field(default_factory=lambda: "RT-" + secrets.token_hex(12))
    old_refresh_tokens: dict[str, float] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    refreshes: int = 0

    def issue_code(self, redirect_uri: str) -> str:
        code = "code-" + secrets.token_hex(8)
        self.codes[code] = redirect_uri
        return code

    def new_access_token(self) -> str:
        token = "AT-" + secrets.token_hex(16)
        self.access_tokens[token] = time.time() + self.access_lifetime
        return token

    def expire_access_tokens(self) -> None:
        """Every issued access token now answers 401 (it died mid-run)."""
        for token in self.access_tokens:
            self.access_tokens[token] = 0

    def access_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        return self.access_tokens.get(token, 0) > time.time()

    def _client_ok(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def token_endpoint(self, request: Request, *, extra: dict | None = None) -> Response:
        if not self._client_ok(request):
            return json_response(401, {"error": "invalid_client"})
        form = request.form()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                return json_response(
                    400, {"error": "invalid_grant", "error_description": "Code invalid"}
                )
        elif grant == "refresh_token":
            given = form.get("refresh_token", "")
            grace_until = self.old_refresh_tokens.get(given, 0)
            if given != self.refresh_token and grace_until < time.time():
                return json_response(
                    400, {"error": "invalid_grant", "error_description": "Token invalid"}
                )
            self.refreshes += 1
        else:
            return json_response(400, {"error": "unsupported_grant_type"})
        # Rotate: the previous refresh token stops working (after the grace period).
        self.old_refresh_tokens[self.refresh_token] = time.time() + self.grace_seconds
        self.refresh_token = "RT-" + secrets.token_hex(12)
        body = {
            "token_type": "bearer",
            "access_token": self.new_access_token(),
            "expires_in": self.access_lifetime,
            "refresh_token": self.refresh_token,
            **(extra or {}),
        }
        return json_response(200, body)

    def revoke_endpoint(self, request: Request) -> Response:
        if not self._client_ok(request):
            return json_response(401, {"error": "invalid_client"})
        is_json = request.headers.get("content-type", "").startswith("application/json")
        token = (
            (request.json() or {}).get("token", "") if is_json else request.form().get("token", "")
        )
        self.revoked.append(token)
        if token == self.refresh_token:
            self.refresh_token = "RT-revoked-" + secrets.token_hex(6)
        return Response(200)
