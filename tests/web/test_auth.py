"""Password hashes, sessions and the login throttle, on a fake clock."""

from __future__ import annotations

import re

import pytest

from station.web.auth import (
    FIRST_LOCK_S,
    FREE_FAILURES,
    GLOBAL_FAILURES_PER_MINUTE,
    LoginThrottle,
    Sessions,
    hash_password,
    verify_password,
)
from station.web.settings import PASSWORD_HASH_PATTERN, WebSection


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_hash_verifies_its_password_only_and_fits_the_config_field():
    stored = hash_password("tiger-trail-7")
    assert re.match(PASSWORD_HASH_PATTERN, stored) and "tiger" not in stored
    assert WebSection(password_hash=stored).password_hash == stored
    assert verify_password("tiger-trail-7", stored)
    assert not verify_password("tiger-trail-8", stored)
    assert hash_password("tiger-trail-7") != stored  # salted


@pytest.mark.parametrize("stored", ["", "plain-text", "scrypt$n=16384,r=8,p=1$AAAA$", "scrypt$n=3,r=8,p=1$AAAA$AAAA"])
def test_an_empty_or_broken_hash_matches_nothing(stored):
    assert not verify_password("anything at all", stored)


def test_a_short_password_is_refused():
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")


def test_sessions_end_after_the_idle_timeout_and_on_clear():
    clock = FakeClock()
    sessions = Sessions(timeout_s=60, clock=clock)
    token = sessions.create()
    clock.now += 50
    assert sessions.touch(token)  # a request keeps it alive
    clock.now += 50
    assert sessions.touch(token)
    clock.now += 61
    assert not sessions.touch(token) and len(sessions) == 0
    other = sessions.create()
    sessions.clear()
    assert not sessions.touch(other) and not sessions.touch(None) and not sessions.touch("forged")


def test_an_address_is_locked_out_after_repeated_failures_and_the_lock_doubles():
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(FREE_FAILURES - 1):
        throttle.failed("10.0.0.5")
    assert throttle.wait_s("10.0.0.5") == 0
    throttle.failed("10.0.0.5")
    assert throttle.wait_s("10.0.0.5") == FIRST_LOCK_S
    assert throttle.wait_s("10.0.0.6") == 0  # others are not locked out
    clock.now += FIRST_LOCK_S
    throttle.failed("10.0.0.5")
    assert throttle.wait_s("10.0.0.5") == 2 * FIRST_LOCK_S
    throttle.succeeded("10.0.0.5")
    assert throttle.wait_s("10.0.0.5") == 0


def test_a_burst_of_failures_from_many_addresses_locks_everyone_for_a_while():
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for n in range(GLOBAL_FAILURES_PER_MINUTE):
        throttle.failed(f"10.0.1.{n}")
    assert throttle.wait_s("10.0.2.1") == pytest.approx(60.0)
    clock.now += 60.1
    assert throttle.wait_s("10.0.2.1") == 0
