"""Slow HTTP clients (slowloris), run as their own process so their sockets count against their own file limit.

    python tests/hostile/slow_clients.py HOST PORT COUNT ADDRESSES INTERVAL_S DURATION_S [ENOUGH_CLOSED]

Opens COUNT connections to HOST:PORT from ADDRESSES loopback source addresses (127.0.0.2, 127.0.0.3, …; 1
means 127.0.0.1 only), sends one byte of a request line to each every INTERVAL_S, and after DURATION_S (with
ENOUGH_CLOSED: longer, until the server has closed that many, at most ten times as long) prints one JSON
line: how many connected and how many the server closed. Never reconnects.
"""

from __future__ import annotations

import errno
import json
import resource
import selectors
import socket
import sys
import time

REQUEST = b"GET /status HTTP/1.1\r\nHost: station\r\nX-Slow: " + b"a" * 10_000


def source_address(n: int, addresses: int) -> str:
    return "127.0.0.1" if addresses == 1 else f"127.0.{2 + (n % addresses) // 250}.{2 + (n % addresses) % 250}"


def main(host: str, port: int, count: int, addresses: int, interval_s: float, duration_s: float,
         enough_closed: int | None = None) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
    selector = selectors.DefaultSelector()
    sockets: dict[socket.socket, int] = {}  # → bytes sent
    for n in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source_address(n, addresses), 0))
        sock.setblocking(False)
        code = sock.connect_ex((host, port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            continue
        sockets[sock] = 0
        selector.register(sock, selectors.EVENT_READ)
    closed_by_server = 0
    deadline = time.monotonic() + duration_s
    next_byte = time.monotonic()
    last_chance = deadline + (9 * duration_s if enough_closed is not None else 0.0)
    while time.monotonic() < deadline or (
            enough_closed is not None and closed_by_server < enough_closed and time.monotonic() < last_chance):
        if time.monotonic() >= next_byte:
            for sock, sent in list(sockets.items()):
                try:
                    sockets[sock] = sent + sock.send(REQUEST[sent % len(REQUEST):][:1])
                except (BlockingIOError, OSError):
                    pass  # not connected yet, or already cut (counted below)
            next_byte += interval_s
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed_by_server += 1
                selector.unregister(sock)
    connected = sum(1 for sent in sockets.values() if sent > 0)
    for sock in sockets:
        sock.close()
    return {"opened": len(sockets), "connected": connected, "closed_by_server": closed_by_server}


if __name__ == "__main__":
    host, port, count, addresses, interval, duration = sys.argv[1:7]
    enough = int(sys.argv[7]) if len(sys.argv) > 7 else None
    print(json.dumps(main(host, int(port), int(count), int(addresses), float(interval), float(duration), enough)),
          flush=True)
