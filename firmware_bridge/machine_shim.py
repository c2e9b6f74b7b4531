"""A small stand-in for MicroPython's ``machine`` and ``time`` so the firmware runs under CPython.

Only what the reference firmware uses: Pin (with edge interrupts), PWM, ADC, UART, unique_id,
reset_cause, and the wrapping ``ticks_ms`` clock. The simulated world drives inputs the way the
real one would (``pin.drive(1)``, ``adc.set_u16(...)``) and reads outputs back (``pin.value()``,
``pwm.duty_u16()``). Not thread-safe by design: only the simulator's thread touches it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

TICKS_PERIOD = 1 << 30  # MicroPython's ticks_ms() wraps at 2**30 ms (12.4 days)


class Clock:
    """``time.ticks_ms``/``ticks_diff``/``ticks_add`` with MicroPython's wrap-around.

    ``start_ticks`` defaults to just before the wrap, so every simulation crosses it early on;
    ``advance()`` jumps the board's time forward (watchdog and sleep tests need no real waiting).
    """

    def __init__(self, start_ticks: int = TICKS_PERIOD - 3_000) -> None:
        self._offset_ms = start_ticks - self._monotonic_ms()

    @staticmethod
    def _monotonic_ms() -> int:
        return time.monotonic_ns() // 1_000_000

    def ticks_ms(self) -> int:
        return (self._monotonic_ms() + self._offset_ms) % TICKS_PERIOD

    @staticmethod
    def ticks_diff(ticks1: int, ticks2: int) -> int:
        half = TICKS_PERIOD // 2
        return ((ticks1 - ticks2 + half) % TICKS_PERIOD) - half

    @staticmethod
    def ticks_add(ticks: int, delta: int) -> int:
        return (ticks + delta) % TICKS_PERIOD

    def advance(self, ms: int) -> None:
        if not 0 <= ms < TICKS_PERIOD // 2:
            raise ValueError(f"can advance the clock by 0..{TICKS_PERIOD // 2 - 1} ms, not {ms}")
        self._offset_ms += ms


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, pin_id: int, mode: int = -1, pull: int = -1, *, value: int | None = None) -> None:
        self.id = pin_id
        self.mode = mode
        self._level = value if value is not None else (1 if pull == self.PULL_UP else 0)
        self._handler: Callable[[Pin], Any] | None = None
        self._trigger = 0
        self.history: list[int] = [self._level]  # every level an output was set to

    def value(self, level: int | None = None) -> int | None:
        if level is None:
            return self._level
        self._level = 1 if level else 0
        self.history.append(self._level)
        return None

    def irq(self, handler: Callable[[Pin], Any] | None = None, trigger: int = IRQ_FALLING | IRQ_RISING) -> None:
        self._handler = handler
        self._trigger = trigger

    def drive(self, level: int) -> None:
        """The outside world sets this input; edge interrupts fire as on the chip."""
        old, self._level = self._level, 1 if level else 0
        edge = self.IRQ_RISING if (old, self._level) == (0, 1) else self.IRQ_FALLING if old != self._level else 0
        if edge & self._trigger and self._handler:
            self._handler(self)


class PWM:
    def __init__(self, pin: Pin) -> None:
        self.pin = pin
        self._freq = 0
        self._duty = 0

    def freq(self, hz: int | None = None) -> int | None:
        if hz is None:
            return self._freq
        self._freq = hz
        return None

    def duty_u16(self, duty: int | None = None) -> int | None:
        if duty is None:
            return self._duty
        if not 0 <= duty <= 0xFFFF:
            raise ValueError(f"duty_u16 must be 0..65535, got {duty}")
        self._duty = duty
        return None


class ADC:
    def __init__(self, channel: int) -> None:
        self.channel = channel
        self._raw = 0

    def read_u16(self) -> int:
        return self._raw

    def set_u16(self, raw: int) -> None:
        """The voltage at the pin, as read_u16() will report it."""
        self._raw = max(0, min(int(raw), 0xFFFF))


class Link(Protocol):
    """Where a simulated UART's bytes go: the simulator's end of a pty."""

    def read(self) -> bytes | None: ...

    def write(self, data: bytes) -> int: ...


class UART:
    def __init__(self, link: Link) -> None:
        self._link = link

    def read(self, nbytes: int = -1) -> bytes | None:  # like MicroPython with timeout=0: None if empty
        return self._link.read()

    def write(self, data: bytes) -> int:
        return self._link.write(bytes(data))


class _PinClass:
    """Looks like ``machine.Pin`` (constants, constructor) but records every pin it makes."""

    def __init__(self, registry: dict[int, Pin]) -> None:
        self._registry = registry

    def __call__(self, pin_id: int, *args: Any, **kwargs: Any) -> Pin:
        pin = Pin(pin_id, *args, **kwargs)
        self._registry[pin_id] = pin
        return pin

    def __getattr__(self, name: str) -> Any:
        return getattr(Pin, name)


class Machine:
    """One simulated board's ``machine`` module: pass it where the firmware expects ``machine``."""

    PWRON_RESET = 1
    HARD_RESET = 2
    WDT_RESET = 3
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5

    def __init__(self, link: Link, *, unique_id: bytes, reset_cause: int = PWRON_RESET) -> None:
        self._link = link
        self._unique_id = unique_id
        self._reset_cause = reset_cause
        self.pins: dict[int, Pin] = {}
        self.adcs: dict[int, ADC] = {}
        self.pwms: dict[int, PWM] = {}
        self.uarts: list[UART] = []
        self.Pin = _PinClass(self.pins)

    # Capitalised like the classes they stand for, so firmware code reads the same on both.
    def ADC(self, channel: int) -> ADC:  # noqa: N802
        adc = self.adcs.setdefault(channel, ADC(channel))
        return adc

    def PWM(self, pin: Pin) -> PWM:  # noqa: N802
        pwm = PWM(pin)
        self.pwms[pin.id] = pwm
        return pwm

    def UART(self, uart_id: int, **settings: Any) -> UART:  # noqa: N802
        uart = UART(self._link)
        self.uarts.append(uart)
        return uart

    def unique_id(self) -> bytes:
        return self._unique_id

    def reset_cause(self) -> int:
        return self._reset_cause
