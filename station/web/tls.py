"""HTTPS for the ranger's page: the station's certificate, the handshake per connection, plain HTTP redirected.

``[web] tls_cert_file`` and ``tls_key_file`` (made by ``trapd provision``, see ``station.network.certs``)
switch the page to HTTPS. Phones give GPS positions only to secure pages; over plain HTTP a ranger types the
coordinates. ``tls_context`` loads the pair when the page opens: a missing, unreadable or mismatched file is
one ``WebError`` (the daemon logs it and goes on capturing; the page stays closed).

``with_tls(server_class)`` makes a server class that does the TLS handshake in the connection's own
thread (a slow phone never holds up the others) and answers a plain ``http://`` request on the same port
with a redirect to ``https://``, so a ranger who typed the address without ``https`` still arrives.
"""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path
from socketserver import BaseServer
from typing import Any

from station.web.errors import WebError

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 10.0
#: A phone that opened a connection and went quiet (walked out of range) frees its thread after this long.
IDLE_TIMEOUT_S = 30.0
_TLS_RECORD_HANDSHAKE = 0x16
_MAX_PLAIN_REQUEST = 8192


def tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context (TLS 1.2 or later) with the page's certificate, or one WebError saying what is wrong."""
    for name, path in (("tls_cert_file", cert_file), ("tls_key_file", key_file)):
        if not path.is_file():
            raise WebError(f"the ranger's page stays off: [web] {name} {path} does not exist (run "
                           "`trapd provision` again, or remove tls_cert_file/tls_key_file for plain HTTP)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except PermissionError:
        raise WebError(f"the ranger's page stays off: cannot read {cert_file} or {key_file} (permission "
                       "denied; they belong to the daemon's user)") from None
    except ssl.SSLError as exc:
        reason = "the key does not belong to the certificate" if "KEY_VALUES_MISMATCH" in str(exc) else \
            f"not a PEM certificate and its private key ({exc.reason or exc})"
        raise WebError(f"the ranger's page stays off: [web] tls_cert_file {cert_file} / tls_key_file "
                       f"{key_file}: {reason}; run `trapd provision` again to make a new pair") from exc
    return context


def with_tls(server_class: type[BaseServer], context: ssl.SSLContext) -> type[BaseServer]:
    """``server_class`` whose connections are TLS (handshake in the request's thread) or redirected."""

    class TLSServer(server_class):  # type: ignore[valid-type, misc]
        tls = True

        def finish_request(self, request: Any, client_address: Any) -> None:
            request.settimeout(HANDSHAKE_TIMEOUT_S)
            try:
                first = request.recv(1, socket.MSG_PEEK)
                if first and first[0] != _TLS_RECORD_HANDSHAKE:
                    _redirect_plain_http(request)
                    return
                secure = context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.debug("ranger's page: TLS handshake with %s failed: %s", client_address[0], exc)
                return
            secure.settimeout(IDLE_TIMEOUT_S)
            try:
                super().finish_request(secure, client_address)
            finally:
                _close_quietly(secure)

    TLSServer.__name__ = TLSServer.__qualname__ = f"TLS{server_class.__name__}"
    return TLSServer


def _redirect_plain_http(request: socket.socket) -> None:
    """Answer ``GET /x HTTP/1.1`` + ``Host: h:p`` with 301 to ``https://h:p/x``; anything else is dropped."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_PLAIN_REQUEST:
        chunk = request.recv(2048)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    parts = head[0].split(" ")
    host = next((line.split(":", 1)[1].strip() for line in head[1:] if line.lower().startswith("host:")), "")
    if (len(parts) != 3 or not parts[1].startswith("/") or not host
            or any(c in host for c in "/\\@") or any(ord(c) <= 0x20 for c in host + parts[1])):
        request.sendall(b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n")
        return
    target = f"https://{host}{parts[1]}"
    body = b"This page is served over HTTPS.\n"
    request.sendall((f"HTTP/1.0 301 Moved Permanently\r\nLocation: {target}\r\nContent-Type: text/plain\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1") + body)


def _close_quietly(secure: ssl.SSLSocket) -> None:
    try:
        secure.close()
    except OSError:
        pass
