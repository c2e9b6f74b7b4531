"""Passwords, sessions and the login throttle of the ranger's page.

- The password is kept only as an scrypt hash (``scrypt$n=16384,r=8,p=1$<salt>$<key>``): 16 MiB and a
  fraction of a second per check on a Pi Zero 2 W, which is also a natural brake on guessing.
- A session is a random token in a cookie (HttpOnly, SameSite=Strict) that ends after ``timeout_s``
  without a request; every session ends when the page is switched off.
- Failed logins are throttled per client address (locked out for a while after a few failures, the lock
  doubling each time) and for the page as a whole (guesses spread over many addresses). The check and the
  count are one step (``LoginThrottle.admit``): every attempt is counted as a failure when it is let in and
  forgiven only if its password was right, so attempts sent all at once cannot all pass the check before the
  first of them has failed.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_HASH = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")
MIN_PASSWORD_LENGTH = 8
#: Failures from one address before it is locked out; the lock then doubles with each further failure.
FREE_FAILURES = 5
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 900.0
#: Failures from all addresses together allowed per minute.
GLOBAL_FAILURES_PER_MINUTE = 20

Clock = Callable[[], float]


def hash_password(password: str) -> str:
    """A self-describing scrypt hash of ``password`` (what ``[web] password_hash`` holds)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the page's password needs at least {MIN_PASSWORD_LENGTH} characters")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return (f"scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}$"
            f"{base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}")


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare); an empty or bad hash matches nothing."""
    match = _HASH.match(stored or "")
    if match is None:
        return False
    n, r, p = (int(match[i]) for i in (1, 2, 3))
    salt, key = base64.b64decode(match[4]), base64.b64decode(match[5])
    try:
        candidate = _scrypt(password, salt, n, r, p, length=len(key))
    except ValueError:  # parameters this machine cannot afford or that are not valid for scrypt
        return False
    return hmac.compare_digest(candidate, key)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, *, length: int = _KEY_BYTES) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=256 * n * r + 1024 * 1024)


class Sessions:
    """Logged-in browsers: token → time of the last request. Thread-safe."""

    def __init__(self, *, timeout_s: float, clock: Clock = time.monotonic) -> None:
        self._timeout_s = timeout_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            self._last_seen[token] = self._clock()
        return token

    def touch(self, token: str | None) -> bool:
        """True (and the session kept alive) if ``token`` is a live session."""
        if not token:
            return False
        with self._lock:
            self._expire()
            if token not in self._last_seen:
                return False
            self._last_seen[token] = self._clock()
            return True

    def end(self, token: str | None) -> None:
        with self._lock:
            self._last_seen.pop(token or "", None)

    def clear(self) -> None:
        with self._lock:
            self._last_seen.clear()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._last_seen)

    def _expire(self) -> None:
        cutoff = self._clock() - self._timeout_s
        for token in [t for t, seen in self._last_seen.items() if seen < cutoff]:
            del self._last_seen[token]


@dataclasses.dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last_at: float = 0.0


class LoginThrottle:
    """Refuses logins from an address that failed too often, and from everyone after a burst of failures."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._by_address: dict[str, _Failures] = {}
        self._recent: list[float] = []
        self._lock = threading.Lock()

    def admit(self, address: str) -> float:
        """Atomically: 0 and the attempt counted as a failure (until ``succeeded``), or the seconds to wait."""
        now = self._clock()
        with self._lock:
            wait = self._wait_locked(address, now)
            if wait <= 0:
                self._count_failure(address, now)
        return wait

    def wait_s(self, address: str) -> float:
        """Seconds before ``address`` may try again (0: now)."""
        with self._lock:
            return self._wait_locked(address, self._clock())

    def failed(self, address: str) -> None:
        """Count one failure (``admit`` already counts the attempts it lets in)."""
        with self._lock:
            self._count_failure(address, self._clock())

    def succeeded(self, address: str) -> None:
        """The password was right: forget the address's failures and the attempt ``admit`` counted."""
        with self._lock:
            entry = self._by_address.pop(address, None)
            if entry is not None and entry.last_at in self._recent:
                self._recent.remove(entry.last_at)

    def _wait_locked(self, address: str, now: float) -> float:
        self._recent = [at for at in self._recent if at > now - 60.0]
        own = self._by_address.get(address)
        own_wait = own.locked_until - now if own is not None else 0.0
        global_wait = (self._recent[0] + 60.0 - now) if len(self._recent) >= GLOBAL_FAILURES_PER_MINUTE else 0.0
        return max(0.0, own_wait, global_wait)

    def _count_failure(self, address: str, now: float) -> None:
        self._recent.append(now)
        entry = self._by_address.setdefault(address, _Failures())
        entry.count += 1
        entry.last_at = now
        if entry.count >= FREE_FAILURES:
            lock_s = min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (entry.count - FREE_FAILURES))
            entry.locked_until = now + lock_s
