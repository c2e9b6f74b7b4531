"""What one client of the ranger's page may cost the station: bytes, time, connections and threads.

The page shares a Pi Zero 2 W (512 MiB, a 1,024-file limit by default) with the camera, so nothing a client
sends may make it read, wait or hold more than these bounds:

- a form body is at most ``MAX_FORM_BYTES``, announced by a valid ``Content-Length``: a missing one is
  refused (411), a negative or malformed one (400) or a larger one (413) too, before a byte is read;
- a request must arrive whole within ``REQUEST_DEADLINE_S`` however slowly it trickles (a per-read timeout
  alone lets one byte every few seconds hold a connection for ever), and an answer must be taken within
  ``SEND_TIMEOUT_S``;
- ``MAX_CONNECTIONS`` connections are served at once by as many worker threads, made when the page switches
  on; while all are busy the server stops accepting, so further clients wait in the kernel's listen queue
  and cost the station neither a thread nor a file descriptor; one address may hold at most
  ``MAX_PER_ADDRESS`` of them (more are answered 503 at once), so a single client cannot lock the ranger out;
- nor is a connection accepted while fewer than ``FD_RESERVE`` file descriptors are left below the process's
  limit: those are the camera's and the store's, whatever else leaks.
"""

from __future__ import annotations

import io
import logging
import os
import queue
import resource
import socket
import threading
import time
from collections import Counter
from http.server import HTTPServer
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024
REQUEST_DEADLINE_S = 10.0
SEND_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 16
FD_RESERVE = 32
MAX_PER_ADDRESS = 8  # a phone's browser opens up to 6 connections to one site
_LISTEN_BACKLOG = 16
_GATE_POLL_S = 0.5
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"


class RequestRefused(ValueError):
    """A request refused before it was read whole: ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Headers(Protocol):
    """A request's headers as http.server parses them (``email.message.Message``), or a plain dict."""

    def get(self, name: str, /) -> str | None: ...


def body_length(headers: Headers) -> int:
    """The form body's length from ``Content-Length``, or ``RequestRefused`` (411, 400, 413) without reading."""
    if headers.get("Transfer-Encoding") is not None:
        raise RequestRefused(411, "send the form with a Content-Length, not a Transfer-Encoding")
    text = headers.get("Content-Length")
    if text is None:
        raise RequestRefused(411, "a form needs a Content-Length")
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise RequestRefused(400, "bad Content-Length")
    length = int(text)
    if length > MAX_FORM_BYTES:
        raise RequestRefused(413, f"form larger than {MAX_FORM_BYTES} bytes")
    return length


class _DeadlineSocketReader(io.RawIOBase):
    """A socket's receiving side that gives up at a fixed time, however the bytes trickle in."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not complete in time")
        self._sock.settimeout(left)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(SEND_TIMEOUT_S)  # what the answer's sendall may take in total


class DeadlineRequestMixin:
    """For a ``StreamRequestHandler``: the request must be read whole within ``REQUEST_DEADLINE_S``.

    http.server answers a ``TimeoutError`` while reading by closing the connection."""

    connection: socket.socket
    rfile: io.BufferedIOBase

    def setup(self) -> None:
        super().setup()  # type: ignore[misc]  # the handler class this is mixed into has it
        self.rfile.close()  # the plain reader: it holds a reference that would keep the socket open
        raw = _DeadlineSocketReader(self.connection, time.monotonic() + REQUEST_DEADLINE_S)
        self.rfile = io.BufferedReader(raw)


class BoundedHTTPServer(HTTPServer):
    """An ``HTTPServer`` with a fixed pool of worker threads and accept gating (see the module's text)."""

    request_queue_size = _LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type, *, max_connections: int = MAX_CONNECTIONS,
                 max_per_address: int = MAX_PER_ADDRESS) -> None:
        self.max_per_address = max_per_address
        self._slots = threading.BoundedSemaphore(max_connections)
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._per_address: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        super().__init__(address, handler)  # binds and listens (and closes again if it cannot)
        self._workers = [threading.Thread(target=self._serve_connections, name=f"web-{n}", daemon=True)
                         for n in range(max_connections)]
        for worker in self._workers:
            worker.start()

    def get_request(self) -> tuple[socket.socket, tuple]:
        """Accept only while a worker is free; else leave the client in the listen queue."""
        if not self._slots.acquire(timeout=_GATE_POLL_S):
            raise OSError("every worker busy")  # serve_forever skips this round and looks again
        if not files_to_spare():
            self._slots.release()
            log.warning("ranger's page: fewer than %d files left below the limit; not accepting", FD_RESERVE)
            time.sleep(_GATE_POLL_S)
            raise OSError("file descriptors kept for the camera")
        try:
            return super().get_request()
        except BaseException:
            self._slots.release()
            raise

    def verify_request(self, request, client_address) -> bool:  # noqa: ANN001 - socketserver's signature
        with self._count_lock:
            if self._per_address[client_address[0]] >= self.max_per_address:
                log.debug("ranger's page: %s already holds %d connections", client_address[0], self.max_per_address)
                _say_busy(request)
                return False
            self._per_address[client_address[0]] += 1
        return True

    def process_request(self, request, client_address) -> None:  # noqa: ANN001
        self._work.put((request, client_address))

    def shutdown_request(self, request) -> None:  # noqa: ANN001
        super().shutdown_request(request)
        self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        for _ in self._workers:
            self._work.put(None)  # each worker ends after the connection it is serving

    def _serve_connections(self) -> None:
        while (item := self._work.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except OSError as exc:  # the client went away or stalled: its problem, not the station's
                log.debug("ranger's page: connection from %s ended: %s", client_address[0], exc)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                with self._count_lock:
                    self._per_address[client_address[0]] -= 1
                    if self._per_address[client_address[0]] <= 0:
                        del self._per_address[client_address[0]]
                self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        log.exception("ranger's page: connection from %s failed", client_address[0])


def files_to_spare() -> bool:
    """Whether this process has more than ``FD_RESERVE`` file descriptors left below its soft limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: nothing to go by
        return True
    return soft == resource.RLIM_INFINITY or used + FD_RESERVE < soft


def _say_busy(request: socket.socket) -> None:
    """Answer 503 on a fresh connection without ever waiting (its send buffer is empty)."""
    try:
        request.setblocking(False)
        request.send(_BUSY)
    except OSError:
        pass
