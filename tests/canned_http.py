"""A real HTTP server on 127.0.0.1 that gives one canned answer to every request (or never answers),
for testing how the terminal's clients take bad answers from central or Janus.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """What the canned server says to every request; `hang` means it never answers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    hang: bool = False


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CannedServer:
    url: str
    received: list[Received] = field(default_factory=list)


@contextmanager
def canned_server(answer: Answer) -> Iterator[CannedServer]:
    """A real HTTP server on 127.0.0.1 in a thread, recording each request and giving the same answer."""
    release = threading.Event()
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append(Received(self.command, self.path, dict(self.headers), self.rfile.read(length)))
            if answer.hang:
                release.wait(10)
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever to look at its flag again: every 0.5 s by default, in every test.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), name="canned-central", daemon=True)
    thread.start()
    try:
        yield CannedServer(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
