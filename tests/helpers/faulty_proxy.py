"""A fault-injecting TCP proxy on loopback, in front of a real server.

Each accepted connection takes the next entry of the plan (a `Fault`, or None for a clean
pass-through); when the plan is empty connections pass cleanly. Faults are decided by byte
counts, never by time, so tests stay deterministic:

    with faulty_proxy(feed.url, [Fault.cut_response_after(100)]) as proxy:
        client = FeedClient(proxy.url, ...)

A requests.Session reuses connections: a fault applies to the next *new* connection.
Byte limits count what reaches the proxy; a request or response shorter than the limit
passes whole. For assertions the proxy records `connections`, `faults_applied` (one word
per connection) and the first request line and head of each connection (`request_lines`,
`request_heads`; later requests on a kept-alive connection are not parsed), and the bytes
it passed each way (`bytes_to_server`, `bytes_to_client`).

`rate` (bytes per second) paces what flows to clients, all connections together, like one
link of that speed: for benchmarks only (bench/deploy.py --delta); tests never use time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

_BLOCK = 65536


@dataclass(frozen=True)
class Fault:
    """What to do to one connection."""

    kind: str
    after: int = 0
    status: int = 503
    retry_after: int | None = None

    @classmethod
    def cut_request_after(cls, n: int) -> Fault:
        """Forward the first n bytes of the request upstream, then cut both sides."""
        return cls("cut_request", after=n)

    @classmethod
    def cut_response_after(cls, n: int) -> Fault:
        """Forward the whole request, then n bytes of the response, then cut.

        n=0 waits for the server's first response byte (the server has finished the request)
        and then cuts without passing anything on: the "it landed but you never heard" case.
        """
        return cls("cut_response", after=n)

    @classmethod
    def answer(cls, status: int = 503, retry_after: int | None = None) -> Fault:
        """Read the request without forwarding it and answer `status` with a JSON error."""
        return cls("answer", status=status, retry_after=retry_after)

    @classmethod
    def stall(cls) -> Fault:
        """Accept the request, forward nothing, answer nothing until the proxy stops."""
        return cls("stall")

    @classmethod
    def stall_response(cls) -> Fault:
        """Forward the whole request upstream but hold the response until the proxy stops."""
        return cls("stall_response")


class FaultyProxy:
    """A threaded TCP proxy on 127.0.0.1:free-port; stop() closes every socket and thread."""

    def __init__(
        self, upstream_url: str, plan: Iterable[Fault | None] = (), rate: float | None = None
    ) -> None:
        parts = urlsplit(upstream_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the faulty proxy only fronts loopback servers, not {upstream_url}")
        self.upstream = (parts.hostname, parts.port or 80)
        self._plan: deque[Fault | None] = deque(plan)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.connections = 0
        self.faults_applied: list[str] = []
        self.request_lines: list[str] = []
        self.request_heads: list[str] = []
        self.bytes_to_server = 0
        self.bytes_to_client = 0
        self._rate = rate
        self._link_free_at = 0.0  # when the paced link has sent all it was given
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def add(self, *faults: Fault | None) -> None:
        """Append entries to the plan (for connections not yet accepted)."""
        with self._lock:
            self._plan.extend(faults)

    @property
    def pending(self) -> int:
        """Plan entries not yet used."""
        with self._lock:
            return len(self._plan)

    def start(self) -> FaultyProxy:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close everything and join the threads (bounded)."""
        self._stopping.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            _close(sock)
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                fault = self._plan.popleft() if self._plan else None
                self.connections += 1
                self.faults_applied.append(fault.kind if fault else "clean")
                self._sockets.add(conn)
            self._spawn(self._serve, conn, fault)

    def _spawn(self, target, *args) -> None:  # noqa: ANN001
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _serve(self, client: socket.socket, fault: Fault | None) -> None:
        kind = fault.kind if fault else "clean"
        if kind == "answer":
            self._answer(client, fault)  # type: ignore[arg-type]
            return
        if kind == "stall":
            self._read_request(client)
            self._stopping.wait()
            _close(client)
            return
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._sockets.add(upstream)
        pair = (client, upstream)
        request_limit = fault.after if kind == "cut_request" else None
        response_limit = fault.after if kind == "cut_response" else None
        self._spawn(self._pump, client, upstream, request_limit, pair, True, False)
        self._pump(upstream, client, response_limit, pair, False, kind == "stall_response")

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        limit: int | None,
        pair: tuple[socket.socket, socket.socket],
        sniff: bool,
        hold: bool,
    ) -> None:
        """Copy bytes one way; cut both sockets once `limit` bytes went through."""
        forwarded = 0
        try:
            while True:
                block = source.recv(_BLOCK)
                if not block:
                    _shutdown_write(sink)
                    return
                if sniff and forwarded == 0:
                    self._record_head(block)
                if hold:
                    self._stopping.wait()
                    return
                if limit is not None and forwarded + len(block) >= limit:
                    sink.sendall(block[: limit - forwarded])
                    self._count(sniff, limit - forwarded)
                    for sock in pair:
                        _close(sock)
                    return
                if not sniff:
                    self._pace(len(block))
                sink.sendall(block)
                self._count(sniff, len(block))
                forwarded += len(block)
        except OSError:
            for sock in pair:
                _close(sock)

    def _count(self, to_server: bool, size: int) -> None:
        """Add bytes passed on to one direction's total."""
        with self._lock:
            if to_server:
                self.bytes_to_server += size
            else:
                self.bytes_to_client += size

    def _pace(self, size: int) -> None:
        """Wait until a link of `rate` bytes/s would have sent `size` more bytes (no rate: none)."""
        if self._rate is None:
            return
        with self._lock:
            now = time.monotonic()
            self._link_free_at = max(now, self._link_free_at) + size / self._rate
            wait = self._link_free_at - now
        time.sleep(wait)

    def _record_head(self, data: bytes) -> None:
        """Remember the first request line and head of a connection (for assertions)."""
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        with self._lock:
            self.request_lines.append(head.split("\r\n", 1)[0])
            self.request_heads.append(head)

    def _read_request(self, client: socket.socket) -> bytes:
        """Read one request (headers and a Content-Length body); return its head."""
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                block = client.recv(_BLOCK)
                if not block:
                    return data
                data += block
            head, _, body = data.partition(b"\r\n\r\n")
            self._record_head(data)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            remaining = length - len(body)
            while remaining > 0:
                block = client.recv(min(_BLOCK, remaining))
                if not block:
                    break
                remaining -= len(block)
            return head
        except OSError:
            return data

    def _answer(self, client: socket.socket, fault: Fault) -> None:
        self._read_request(client)
        body = b'{"ErrorMessage": "injected by the faulty proxy", "Errors": []}'
        extra = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after is not None else ""
        head = (
            f"HTTP/1.1 {fault.status} Injected\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
        )
        try:
            client.sendall(head.encode() + body)
        except OSError:
            pass
        _close(client)


def _shutdown_write(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextmanager
def faulty_proxy(
    upstream_url: str, plan: Iterable[Fault | None] = (), rate: float | None = None
) -> Iterator[FaultyProxy]:
    """Run a FaultyProxy in front of `upstream_url` for the block; always stopped."""
    proxy = FaultyProxy(upstream_url, plan, rate).start()
    try:
        yield proxy
    finally:
        proxy.stop()
