"""A local server speaking the OpenAI chat-completions wire format, for LLM tests.

Each test queues the answers it wants (structured, malformed, failing, slow) and afterwards
reads the requests the client really sent. Structured answers are returned the way the request
asked for them: as message content for ``response_format`` requests, as a tool call when the
request offers ``tools``, and as server-sent chunks when it asks to ``stream``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

MODEL = "fake-model"
API_KEY = "sk-test-fake-openai"


@dataclass
class _Reply:
    content: str | None = None
    status: int = 200
    error: str = ""
    delay_s: float = 0.0


class FakeOpenAI:
    def __init__(self) -> None:
        self._replies: queue.Queue[_Reply] = queue.Queue()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- what the next answers are
    def reply(self, answer: BaseModel | dict[str, Any] | str) -> None:
        """Queue a well-formed answer (a model/dict becomes its JSON, a str is sent as is)."""
        if isinstance(answer, BaseModel):
            answer = answer.model_dump(mode="json")
        content = answer if isinstance(answer, str) else json.dumps(answer)
        self._replies.put(_Reply(content=content))

    def reply_raw(self, content: str) -> None:
        """Queue content that is not what the schema asked for (broken JSON, prose...)."""
        self._replies.put(_Reply(content=content))

    def fail(self, status: int = 500, message: str = "The server had an error") -> None:
        self._replies.put(_Reply(status=status, error=message))

    def stall(self, seconds: float, answer: dict[str, Any] | None = None) -> None:
        """Answer only after ``seconds`` (longer than the client's timeout: a timeout)."""
        content = json.dumps(answer or {})
        self._replies.put(_Reply(content=content, delay_s=seconds))

    # ---- what was asked
    def prompt_text(self, index: int = -1) -> str:
        """All message contents of one request, joined: what the model was told."""
        messages = self.requests[index]["messages"]
        return "\n".join(str(message.get("content") or "") for message in messages)

    def _next_reply(self) -> _Reply:
        try:
            return self._replies.get_nowait()
        except queue.Empty:
            return _Reply(status=500, error="fake_openai: no reply queued for this request")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send_json(404, _error_body("Unknown path " + self.path))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    return self._send_json(401, _error_body("Incorrect API key provided"))
                reply = fake._next_reply()
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    return self._send_json(reply.status, _error_body(reply.error))
                if body.get("stream"):
                    return self._send_stream(body, reply.content or "")
                return self._send_json(200, _completion(body, reply.content or ""))

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self._send(status, "application/json", data)

            def _send_stream(self, body: dict[str, Any], content: str) -> None:
                chunks = [content[i : i + 16] for i in range(0, len(content), 16)] or [""]
                events = [_chunk(body, {"role": "assistant", "content": ""}, None)]
                events += [_chunk(body, {"content": piece}, None) for piece in chunks]
                events.append(_chunk(body, {}, "stop"))
                data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                self._send(200, "text/event-stream", data.encode())

            def _send(self, status: int, content_type: str, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        return Handler


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


def _completion(request: dict[str, Any], content: str) -> dict[str, Any]:
    tools = request.get("tools") or []
    if tools:
        name = tools[0]["function"]["name"]
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": name, "arguments": content},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": content, "refusal": None}
        finish = "stop"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", MODEL),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(request: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", MODEL),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


@pytest.fixture
def fake_openai(settings):
    """An OpenAI-compatible endpoint on loopback, configured as the product's LLM."""
    server = FakeOpenAI().start()
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_MODEL = MODEL
    settings.OPENAI_TIMEOUT_S = 2
    yield server
    server.stop()
