"""A scripted HTTP server on 127.0.0.1 for the API provider tests and the concurrency benchmark.

`respond(payload, number)` decides each reply from the JSON the client sent and the request's
number (0, 1, ...); every request is recorded, so tests can assert what went over the wire.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = b""  # a dict is sent as JSON; str and bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    reset: bool = False  # drop the connection with a TCP reset instead of answering
    short: int | None = None  # send only this many bytes of the body while promising all of it
    # Server-sent events, `chunk_delay` seconds apart: each item one `data:` line (a dict as
    # JSON). Items with a "type" (Anthropic's events) also get their `event:` line; OpenAI's
    # chunks have none and end with `data: [DONE]`.
    stream: list[Any] | None = None
    chunk_delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    payload: Any
    at: float


Respond = Callable[[Any, int], Reply]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops simultaneous connects: the client waits 1 s
    daemon_threads = True  # a handler still sleeping never blocks shutdown
    block_on_close = False


class FakeApiServer:
    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.received: list[Received] = []
        self.in_flight = 0  # requests being answered now
        self.most_in_flight = 0  # the most answered at once: how busy a slow server was kept
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        # A short poll interval: shutdown waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def payloads(self) -> list[Any]:
        return [r.payload for r in self.received]

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(raw) if raw else None
                with server._lock:
                    number = len(server.received)
                    server.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            payload,
                            time.perf_counter(),
                        )
                    )
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                self.answered = False
                try:
                    self._answer(server.respond(payload, number))
                finally:
                    self._done()

            def _done(self) -> None:
                """No longer in flight: called before the reply's last bytes go out, so that a
                client that has its whole reply never finds this request still counted."""
                if not self.answered:
                    self.answered = True
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                if reply.reset:
                    self._done()
                    linger = struct.pack("ii", 1, 0)  # close with RST, not FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    self.close_connection = True
                    return
                if reply.stream is not None:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    named = all(isinstance(i, dict) and "type" in i for i in reply.stream)
                    items = reply.stream if named else [*reply.stream, "[DONE]"]
                    for i, item in enumerate(items):
                        final = i == len(items) - 1
                        data = item if isinstance(item, str) else json.dumps(item)
                        event = f"event: {item['type']}\n" if named else ""
                        if final:
                            self._done()
                        self.wfile.write(f"{event}data: {data}\n\n".encode())
                        self.wfile.flush()
                        if not final:
                            time.sleep(reply.chunk_delay)
                    self.close_connection = True
                    return
                body = reply.body
                if isinstance(body, dict | list):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self._done()
                self.wfile.write(body if reply.short is None else body[: reply.short])
                if reply.short is not None:
                    self.close_connection = True

            do_GET = do_POST

        return Handler


def script(*replies: Reply) -> Respond:
    """Replies in order; the last one repeats."""
    return lambda payload, number: replies[min(number, len(replies) - 1)]


def chat_reply(content: str, prompt_tokens: int, completion_tokens: int, model: str) -> dict:
    """A one-choice chat completion body, as OpenAI's API returns it."""
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
