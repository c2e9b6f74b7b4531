"""Duty-cycle and airtime accounting: may the station send N bytes at DR x now, when next, what is left.

The rule is a sliding window of one hour (the ETSI observation period the LoRaWAN stacks use): the sum of
time on air of the transmissions that started in the last ``window_s`` seconds, plus the one asked about,
must stay within the allowance. RU864's allowance is 1 % of the hour (36 s); CN470 has no duty cycle in the
regional parameters, so it gets a configurable hourly airtime budget (36 s by default) and the 1 s dwell
limit its payload table implies. A configured duty cycle may be stricter than the region's, never looser.

A pure library: time comes from the injected ``clock`` (wall-clock seconds, so a persisted state stays
meaningful across reboots), nothing here sleeps or transmits. A clock that jumps backwards makes records
look as if they were in the future; they are then treated as made "now", which only ever blocks longer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, Literal

from station.lora.airtime import join_time_on_air_s, uplink_time_on_air_s
from station.lora.errors import LoRaConfigError
from station.lora.regions import HOUR_S, Region
from station.lora.regions import region as region_named

Reason = Literal["ok", "too_large", "dwell", "budget"]
_EPSILON = 1e-9  # float slack when comparing sums of airtime with the allowance


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The answer to "may I send this now": ``allowed``, why not, and when it will be (clock time)."""

    allowed: bool
    reason: Reason
    airtime_s: float
    #: Earliest clock time at which the transmission would be allowed; None if it never will be.
    next_at: float | None

    @property
    def never(self) -> bool:
        return self.next_at is None


class DutyCycleBudget:
    """Airtime ledger for one region. Record every transmission (uplinks, retries, join-requests)."""

    def __init__(self, region: Region | str, *, duty_cycle: float | None = None,
                 hourly_airtime_s: float | None = None, window_s: float = HOUR_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.region = region_named(region) if isinstance(region, str) else region
        self.window_s = window_s
        self.allowance_s = self._allowance(duty_cycle, hourly_airtime_s)
        self._clock = clock
        self._records: list[tuple[float, float]] = []  # (start time, seconds on air), oldest first

    def _allowance(self, duty_cycle: float | None, hourly_airtime_s: float | None) -> float:
        legal = self.region.duty_cycle
        if duty_cycle is not None:
            if not 0 < duty_cycle <= 1 or (legal is not None and duty_cycle > legal + _EPSILON):
                raise LoRaConfigError(f"duty cycle {duty_cycle} not allowed in {self.region.name} "
                                      f"(at most {legal if legal is not None else 1})")
            return duty_cycle * self.window_s
        if legal is not None:
            if hourly_airtime_s is not None and hourly_airtime_s > legal * HOUR_S + _EPSILON:
                raise LoRaConfigError(f"{hourly_airtime_s} s/h exceeds {self.region.name}'s "
                                      f"{legal:.0%} duty cycle ({legal * HOUR_S:g} s/h)")
            hourly = legal * HOUR_S if hourly_airtime_s is None else hourly_airtime_s
        else:
            hourly = self.region.default_hourly_airtime_s if hourly_airtime_s is None else hourly_airtime_s
        if not 0 < hourly <= HOUR_S:
            raise LoRaConfigError(f"hourly airtime budget {hourly} s outside (0, 3600]")
        return hourly * self.window_s / HOUR_S

    def airtime_s(self, payload_bytes: int, data_rate: int) -> float:
        """Seconds on air of one uplink with ``payload_bytes`` of application payload at ``data_rate``."""
        return uplink_time_on_air_s(payload_bytes, self.region.data_rate(data_rate))

    def _pruned(self) -> float:
        """Drop records out of the window, pull future ones back to now; return now."""
        now = self._clock()
        self._records = [(min(start, now), airtime) for start, airtime in self._records
                         if start > now - self.window_s]
        return now

    def used_s(self) -> float:
        """Seconds on air in the current window."""
        self._pruned()
        return sum(airtime for _, airtime in self._records)

    def remaining_s(self) -> float:
        """Seconds on air still allowed in the current window."""
        return max(0.0, self.allowance_s - self.used_s())

    def check_airtime(self, airtime_s: float) -> Verdict:
        """May one transmission of ``airtime_s`` seconds start now, and if not, when?"""
        if self.region.max_dwell_s is not None and airtime_s > self.region.max_dwell_s + _EPSILON:
            return Verdict(False, "dwell", airtime_s, None)
        return self._budget_verdict(airtime_s)

    def _budget_verdict(self, airtime_s: float) -> Verdict:
        now = self._pruned()
        if airtime_s > self.allowance_s + _EPSILON:
            return Verdict(False, "budget", airtime_s, None)
        used = sum(airtime for _, airtime in self._records)
        if used + airtime_s <= self.allowance_s + _EPSILON:
            return Verdict(True, "ok", airtime_s, now)
        for start, airtime in self._records:  # oldest first: wait for them to leave the window
            used -= airtime
            if used + airtime_s <= self.allowance_s + _EPSILON:
                return Verdict(False, "budget", airtime_s, start + self.window_s)
        raise AssertionError("unreachable: an empty window always has room")  # pragma: no cover

    def check(self, payload_bytes: int, data_rate: int, *, transmissions: int = 1) -> Verdict:
        """May an uplink of ``payload_bytes`` at ``data_rate`` go now? ``transmissions`` reserves room
        for the retries of a confirmed uplink (each one is on air again)."""
        dr = self.region.data_rate(data_rate)
        if dr.max_payload is None or payload_bytes > dr.max_payload:
            return Verdict(False, "too_large", 0.0, None)
        single = uplink_time_on_air_s(payload_bytes, dr)
        if self.region.max_dwell_s is not None and single > self.region.max_dwell_s + _EPSILON:
            return Verdict(False, "dwell", single, None)
        return self._budget_verdict(single * transmissions)

    def may_send(self, payload_bytes: int, data_rate: int, *, transmissions: int = 1) -> bool:
        return self.check(payload_bytes, data_rate, transmissions=transmissions).allowed

    def next_send_at(self, payload_bytes: int, data_rate: int, *, transmissions: int = 1) -> float | None:
        """Clock time from which the uplink is allowed (now if it is); None if it never will be."""
        return self.check(payload_bytes, data_rate, transmissions=transmissions).next_at

    def record_airtime(self, airtime_s: float, *, at: float | None = None) -> None:
        self._pruned()
        self._records.append((self._clock() if at is None else at, airtime_s))
        self._records.sort()

    def record(self, payload_bytes: int, data_rate: int, *, transmissions: int = 1, at: float | None = None) -> float:
        """Account for an uplink that went on air; returns the seconds charged."""
        airtime = self.airtime_s(payload_bytes, data_rate) * transmissions
        self.record_airtime(airtime, at=at)
        return airtime

    def record_join(self, data_rate: int, *, attempts: int = 1, at: float | None = None) -> float:
        """Account for OTAA join-requests (they count against the duty cycle too)."""
        airtime = join_time_on_air_s(self.region.data_rate(data_rate)) * attempts
        self.record_airtime(airtime, at=at)
        return airtime

    def status(self) -> dict[str, Any]:
        """Figures for ``trapd status``."""
        used = self.used_s()
        return {"region": self.region.name, "window_s": self.window_s, "allowance_s": round(self.allowance_s, 3),
                "used_s": round(used, 3), "remaining_s": round(max(0.0, self.allowance_s - used), 3)}

    def to_dict(self) -> dict[str, Any]:
        """State to persist (the ledger of the current window); load it back with ``restore``."""
        self._pruned()
        return {"region": self.region.name, "window_s": self.window_s, "allowance_s": self.allowance_s,
                "records": [[start, airtime] for start, airtime in self._records]}

    def restore(self, state: dict[str, Any]) -> None:
        """Load the ledger saved by ``to_dict`` into this (freshly configured) budget."""
        if state.get("region") != self.region.name:
            raise LoRaConfigError(f"saved airtime ledger is for {state.get('region')}, not {self.region.name}")
        self._records = sorted((float(start), float(airtime)) for start, airtime in state["records"])
        self._pruned()

    @classmethod
    def from_dict(cls, state: dict[str, Any], *, clock: Callable[[], float] = time.time) -> DutyCycleBudget:
        """A budget with the allowance and ledger saved by ``to_dict``."""
        window = float(state["window_s"])
        budget = cls(state["region"], window_s=window,
                     hourly_airtime_s=float(state["allowance_s"]) * HOUR_S / window, clock=clock)
        budget.restore(state)
        return budget
