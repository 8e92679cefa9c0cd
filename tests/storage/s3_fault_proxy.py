"""An HTTP proxy on loopback in front of moto that injects S3 faults into conditional writes.

Two faults, each applied to the next N conditional requests (PUT, POST or DELETE carrying
If-Match or If-None-Match); everything else passes through unchanged:

* `conflicts`: answer ``409 ConditionalRequestConflict`` without forwarding, as real S3
  does when two conditional writes to one key overlap (moto never sends it);
* `lost_replies`: forward the whole request, let moto apply it, then close the
  connection without answering: the write landed but the client never heard.

With `strip_delete_conditions` it also drops If-Match from every DELETE before forwarding,
behaving like stores that ignore conditional deletes (MinIO).

With `serialise_conditional` it forwards conditional writes one at a time. moto checks
If-Match/If-None-Match and then writes without a lock, so two racing requests can both
pass; S3 decides them atomically. Serialising here stands in for S3's atomic check, so a
race test through this proxy checks our logic (and is not flaky), not S3's atomicity.

With `answers` it answers the next writes (PUT and POST, conditional or not) from a list
without forwarding them: `(status, code)` sends S3's XML error (``503 SlowDown``,
``500 InternalError``, ``403 AccessDenied``, ``403 QuotaExceeded``...), `GONE` reads the
request and closes the connection unanswered, as an S3 endpoint that went away
mid-upload, and `PASS` forwards that write untouched. Once the list is used up, writes pass through again.

Counting requests, not time, keeps tests deterministic. (tests/helpers/faulty_proxy.py
cuts at the first response byte, which for S3 is the ``100 Continue`` before the body.)
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CONFLICT_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>A conflicting conditional operation is currently in progress against this "
    b"resource. Please try again.</Message></Error>"
)
GONE = (0, "gone")  # an answer that closes the connection without a word
PASS = (0, "pass")  # an answer that forwards the write unchanged (to fault a later one)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "expect"}


class S3FaultProxy(ThreadingHTTPServer):
    """Forward to `upstream`; fault the next `conflicts`/`lost_replies` conditional writes."""

    daemon_threads = True

    def __init__(
        self,
        upstream: str,
        conflicts: int = 0,
        lost_replies: int = 0,
        strip_delete_conditions: bool = False,
        serialise_conditional: bool = False,
        answers: list[tuple[int, str]] | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname == "127.0.0.1", upstream
        self.upstream = (parts.hostname, parts.port)
        self.conflicts = conflicts
        self.conflicts_sent = 0
        self.lost_replies = lost_replies
        self.replies_lost = 0
        self.strip_delete_conditions = strip_delete_conditions
        self.serialise_conditional = serialise_conditional
        self.conditional_lock = threading.Lock()
        self.lock = threading.Lock()
        self.answers = list(answers or [])
        self.answered: list[tuple[int, str]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def take_conflict(self) -> bool:
        with self.lock:
            if self.conflicts <= 0:
                return False
            self.conflicts -= 1
            self.conflicts_sent += 1
            return True

    def take_answer(self) -> tuple[int, str] | None:
        with self.lock:
            if not self.answers:
                return None
            answer = self.answers.pop(0)
            self.answered.append(answer)
            return answer

    def take_lost_reply(self) -> bool:
        with self.lock:
            if self.lost_replies <= 0:
                return False
            self.lost_replies -= 1
            self.replies_lost += 1
            return True


class _Handler(BaseHTTPRequestHandler):
    server: S3FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        conditional = self.headers.get("If-Match") or self.headers.get("If-None-Match")
        conditional = bool(conditional) and self.command in ("PUT", "POST", "DELETE")
        answer = self.server.take_answer() if self.command in ("PUT", "POST") else None
        answer = None if answer == PASS else answer
        if answer == GONE:
            self.close_connection = True
            return
        if answer is not None:
            status, code = answer
            error = f"<Error><Code>{code}</Code><Message>injected {code}</Message></Error>"
            self._reply(status, {"Content-Type": "application/xml"}, error.encode())
            return
        if conditional and self.server.take_conflict():
            self._reply(409, {"Content-Type": "application/xml"}, CONFLICT_BODY)
            return
        lose_reply = conditional and self.server.take_lost_reply()
        if conditional and self.server.serialise_conditional:
            with self.server.conditional_lock:
                self._forward(body, lose_reply)
        else:
            self._forward(body, lose_reply)

    def _forward(self, body: bytes, lose_reply: bool) -> None:
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            if self.command == "DELETE" and self.server.strip_delete_conditions:
                headers = {k: v for k, v in headers.items() if k.lower() != "if-match"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            if lose_reply:
                self.close_connection = True
                return
            reply_headers = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in _HOP_HEADERS
                and (k.lower() != "content-length" or self.command == "HEAD")
            }
            self._reply(response.status, reply_headers, data)
        finally:
            upstream.close()

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


@contextmanager
def s3_fault_proxy(
    upstream: str,
    conflicts: int = 0,
    lost_replies: int = 0,
    strip_delete_conditions: bool = False,
    serialise_conditional: bool = False,
    answers: list[tuple[int, str]] | None = None,
) -> Iterator[S3FaultProxy]:
    """Run an S3FaultProxy for the block; always shut down and closed."""
    proxy = S3FaultProxy(
        upstream, conflicts, lost_replies, strip_delete_conditions, serialise_conditional, answers
    )
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
