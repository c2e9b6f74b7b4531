"""A parsed request and the response to it: the boundary between the HTTP plumbing and the page's views."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

SESSION_COOKIE = "trapd_session"
LANGUAGE_COOKIE = "trapd_lang"
YEAR_S = 365 * 24 * 3600
#: A plain path on this site: "/" or "/" and segments of letters, digits, "_", "-" and "." joined by single
#: slashes. No query, no "%", no whitespace or control character (a browser drops tabs and newlines, and CR/LF
#: would split the header), no backslash (a browser reads it as "/"), no "//" (another host), no scheme.
_LOCAL_PATH = re.compile(r"/(?:[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?)?")


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    client: str  # the peer's address (what the login throttle counts by)
    language: str
    nonce: str  # of this response's inline script (Content-Security-Policy)

    @property
    def session(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE)


@dataclasses.dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def cookie(name: str, value: str, *, max_age: int | None) -> tuple[str, str]:
    """A Set-Cookie header: HttpOnly, SameSite=Strict, whole site; ``max_age=0`` deletes it."""
    age = f"; Max-Age={max_age}" if max_age is not None else ""
    return "Set-Cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}"


def html(text: str, status: int = 200) -> Response:
    return Response(status, text.encode("utf-8"), "text/html; charset=utf-8")


def redirect(location: str, *headers: tuple[str, str]) -> Response:
    return Response(303, b"", headers=[("Location", location), *headers])


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")


def jpeg(data: bytes) -> Response:
    return Response(200, data, "image/jpeg")


def plain(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"))


def local_path(text: str | None, default: str = "/status") -> str:
    """A redirect target that stays on this site: ``text`` if it is a plain local path, else ``default``."""
    if not text or len(text) > 200 or _LOCAL_PATH.fullmatch(text) is None:
        return default
    return text
