"""A tiny threaded HTTP server for fakes of external services: one ``handle`` method per fake,
answers injected ahead of normal ones, and a log of every request."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _number(value: Any) -> Any:
    # Money goes out as a JSON number, as the providers send it (a 2-decimal float prints
    # exactly, and the client reads it back with parse_float=Decimal).
    return float(value) if isinstance(value, Decimal) else str(value)


def json_response(status: int, payload: Any, **headers: str) -> Response:
    body = json.dumps(payload, default=_number).encode()
    return Response(status, body, {"Content-Type": "application/json", **headers})


class FakeServer:
    """Subclasses implement ``handle(request) -> Response``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log: list[Request] = []
        self.injected: deque[tuple[str, Response]] = deque()
        self._server: ThreadingHTTPServer | None = None
        # Seconds to wait before answering an API call (a slow provider; kill-mid-run tests).
        self.delay = 0.0

    # ------------------------------------------------------------------ control
    def inject(self, response: Response, *, path_contains: str = "") -> None:
        """Answer the next request whose path contains ``path_contains`` with ``response``."""
        with self.lock:
            self.injected.append((path_contains, response))

    def count(self, path_contains: str = "") -> int:
        with self.lock:
            return sum(1 for r in self.log if path_contains in r.path)

    def start(self, port: int = 0) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = fake._dispatch(request)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _dispatch(self, request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.log.append(request)
            for index, (needle, response) in enumerate(self.injected):
                if needle in request.path:
                    del self.injected[index]
                    return response
        return self.handle(request)

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError
