"""DutyCycleBudget with a fake clock: refusal, recovery, persistence, regional rules, config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from station.lora.airtime import uplink_time_on_air_s
from station.lora.budget import DutyCycleBudget
from station.lora.errors import LoRaConfigError
from station.lora.regions import CN470, RU864
from station.lora.settings import LoRaSection


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_ru864_refuses_past_one_percent_and_recovers(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    assert budget.allowance_s == pytest.approx(36.0)
    airtime = uplink_time_on_air_s(51, RU864.data_rate(0))  # 2.79 s per full DR0 uplink
    sent = 0
    while budget.may_send(51, 0):
        budget.record(51, 0)
        sent += 1
        clock.now += 1
    assert sent == int(36.0 // airtime) == 12
    verdict = budget.check(51, 0)
    assert not verdict.allowed and verdict.reason == "budget"
    assert verdict.next_at == pytest.approx(1_000_000.0 + 3600)  # when the first uplink leaves the window
    assert budget.remaining_s() == pytest.approx(36.0 - 12 * airtime)
    clock.now = verdict.next_at - 0.001
    assert not budget.may_send(51, 0)
    clock.now = verdict.next_at
    assert budget.may_send(51, 0)
    assert budget.remaining_s() == pytest.approx(36.0 - 11 * airtime)


def test_smaller_payload_or_faster_rate_may_still_fit(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    budget.record_airtime(35.0)
    assert not budget.may_send(51, 0)
    assert budget.may_send(51, 5)  # 0.13 s at SF7
    assert budget.next_send_at(51, 5) == clock.now


def test_confirmed_retries_are_reserved(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    budget.record_airtime(30.0)
    assert budget.may_send(51, 0, transmissions=2)
    assert not budget.may_send(51, 0, transmissions=3)
    assert budget.record(51, 0, transmissions=2) == pytest.approx(2 * budget.airtime_s(51, 0))


def test_join_requests_count(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    charged = budget.record_join(0, attempts=3)
    assert charged == pytest.approx(3 * 1.482752)  # 23-byte join-request at SF12: 45.25 symbols of 32.768 ms
    assert budget.used_s() == pytest.approx(charged)


def test_oversized_and_unusable(clock: FakeClock) -> None:
    budget = DutyCycleBudget("CN470", clock=clock)
    for payload, dr in ((24, 1), (1, 0)):
        verdict = budget.check(payload, dr)
        assert (verdict.allowed, verdict.reason, verdict.never) == (False, "too_large", True)
    assert budget.next_send_at(23, 1) == clock.now


def test_cn470_dwell_and_default_budget(clock: FakeClock) -> None:
    budget = DutyCycleBudget(CN470, clock=clock)
    assert budget.allowance_s == pytest.approx(36.0)
    assert budget.check_airtime(1.2).reason == "dwell"
    assert budget.check_airtime(1.2).next_at is None
    assert budget.check_airtime(0.9).allowed
    sent = 0
    while budget.may_send(23, 1):
        budget.record(23, 1)
        sent += 1
    assert sent == int(36.0 // uplink_time_on_air_s(23, CN470.data_rate(1))) == 36


def test_configured_limits_only_stricter(clock: FakeClock) -> None:
    assert DutyCycleBudget("RU864", duty_cycle=0.001, clock=clock).allowance_s == pytest.approx(3.6)
    with pytest.raises(LoRaConfigError, match="duty cycle 0.02 not allowed in RU864"):
        DutyCycleBudget("RU864", duty_cycle=0.02, clock=clock)
    with pytest.raises(LoRaConfigError, match="exceeds RU864's 1% duty cycle"):
        DutyCycleBudget("RU864", hourly_airtime_s=60.0, clock=clock)
    assert DutyCycleBudget("CN470", hourly_airtime_s=120.0, clock=clock).allowance_s == pytest.approx(120.0)
    with pytest.raises(LoRaConfigError):
        DutyCycleBudget("CN470", hourly_airtime_s=0.0, clock=clock)


def test_state_survives_a_restart(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    for _ in range(5):
        budget.record(51, 0)
        clock.now += 60
    state = budget.to_dict()
    restored = DutyCycleBudget.from_dict(state, clock=clock)
    assert restored.used_s() == pytest.approx(budget.used_s())
    assert restored.status() == budget.status()
    fresh = DutyCycleBudget("RU864", clock=clock)
    fresh.restore(state)
    assert fresh.remaining_s() == pytest.approx(budget.remaining_s())
    with pytest.raises(LoRaConfigError, match="ledger is for RU864"):
        DutyCycleBudget("CN470", clock=clock).restore(state)
    clock.now += 3600
    assert restored.used_s() == 0.0 and restored.to_dict()["records"] == []


def test_clock_jumping_back_only_blocks_longer(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    budget.record_airtime(36.0)
    clock.now -= 86_400  # the RTC lost a day
    assert not budget.may_send(11, 5)
    assert budget.check(11, 5).next_at == pytest.approx(clock.now + 3600)  # treated as sent "now"
    clock.now += 3600
    assert budget.may_send(11, 5)


def test_status_figures(clock: FakeClock) -> None:
    budget = DutyCycleBudget("RU864", clock=clock)
    budget.record_airtime(6.0)
    assert budget.status() == {"region": "RU864", "window_s": 3600.0, "allowance_s": 36.0, "used_s": 6.0,
                               "remaining_s": 30.0}


def test_settings_build_the_budget_and_refuse_mismatches(clock: FakeClock) -> None:
    cn = LoRaSection(region="CN470", module_variant="low", hourly_airtime_s=18.0)
    assert cn.budget(clock=clock).allowance_s == pytest.approx(18.0)
    ru = LoRaSection(region="RU864", duty_cycle_percent=0.1)
    assert ru.budget(clock=clock).allowance_s == pytest.approx(3.6)
    with pytest.raises(ValidationError, match="needs the low-frequency module variant"):
        LoRaSection(region="CN470", module_variant="high")
    with pytest.raises(ValidationError, match="not allowed in RU864"):
        LoRaSection(region="RU864", duty_cycle_percent=2.0)
    with pytest.raises(ValidationError):
        LoRaSection(app_key="nothex")
    with pytest.raises(ValidationError):
        LoRaSection(unknown_key=1)
