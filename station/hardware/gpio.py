"""PIR sensor and IR lamp on the Pi's own GPIO pins, through gpiozero (imported lazily, in these functions).

``pin_factory`` is passed in (keyword-only) the way gpiozero's own devices take it: None means gpiozero's
default (lgpio on a Pi), and tests pass ``gpiozero.pins.mock.MockFactory`` and drive the pin like the world
(``pin.drive_high()`` → a trigger arrives).

PIR: with ``queue_len = 1`` (the default) the sensor is an edge-triggered input, so an idle station sleeps
in the kernel and a trigger arrives within microseconds of the rising edge; a PIR module such as the
HC-SR501 already debounces its output. A noisy sensor can use ``queue_len > 1``: gpiozero's
``MotionSensor`` then samples the pin ``sample_rate`` times a second and fires when the average of the last
``queue_len`` samples exceeds ``threshold`` — at the price of a sampling thread and queue_len/sample_rate
seconds of latency.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from station.errors import HardwareError
from station.hardware.ports import TriggerCallback
from station.types import Trigger
from station.wire.ids import utc_now

log = logging.getLogger(__name__)

#: BCM numbers of the GPIOs on the 40-pin header.
GPIO_PINS = range(2, 28)


class GpioPir:
    """A PIR sensor on a GPIO pin: each rising edge (motion) is ``Trigger(source="pir", sensor=pin)``."""

    def __init__(self, *, pin: int, queue_len: int = 1, threshold: float = 0.5, sample_rate: float = 10.0,
                 pull_up: bool = False, pin_factory: Any = None) -> None:
        _check_pin(pin, "gpio.pir_pin")
        self.pin = pin
        self._queue_len, self._threshold, self._sample_rate = queue_len, threshold, sample_rate
        self._pull_up = pull_up
        self._pin_factory = pin_factory
        self._device: Any = None
        self._on_trigger: TriggerCallback | None = None
        self._lock = threading.Lock()
        self.fired = 0

    def start(self, on_trigger: TriggerCallback) -> None:
        with self._lock:
            self._on_trigger = on_trigger
        if self._device is None:
            device = _open(self._make_device, f"PIR on GPIO{self.pin}")
            if self._queue_len > 1:
                _ = device.value  # blocks until the first queue_len samples are in: the sensor's initial state
            device.when_activated = self._motion
            self._device = device
        log.info("PIR on GPIO%d (%s)", self.pin,
                 "edge-triggered" if self._queue_len == 1 else f"sampled, queue_len {self._queue_len}")

    def stop(self) -> None:
        with self._lock:
            self._on_trigger = None
        device, self._device = self._device, None
        if device is not None:
            device.close()

    def _make_device(self) -> Any:
        import gpiozero  # noqa: PLC0415 - lazy: the station imports without gpiozero

        if self._queue_len == 1:
            return gpiozero.DigitalInputDevice(self.pin, pull_up=self._pull_up, pin_factory=self._pin_factory)
        return gpiozero.MotionSensor(self.pin, pull_up=self._pull_up, queue_len=self._queue_len,
                                     sample_rate=self._sample_rate, threshold=self._threshold,
                                     pin_factory=self._pin_factory)

    def _motion(self) -> None:
        """gpiozero's callback thread: hand the trigger over and return (the callback never blocks)."""
        trigger = Trigger(source="pir", at=utc_now(), sensor=self.pin)
        with self._lock:
            callback = self._on_trigger
            self.fired += 1
        if callback is not None:
            callback(trigger)


class GpioLamp:
    """The IR lamp on a GPIO pin: PWM for a dimmable driver, or plain on/off (any level above 0 is on).

    The PWM frequency matters: a rolling-shutter sensor shows dark bands when the lamp flickers slower than
    the exposure, so keep it well above 1 / exposure time (1 kHz and more for 20 ms exposures)."""

    def __init__(self, *, pin: int, pwm: bool = True, frequency_hz: int = 1000, active_high: bool = True,
                 pin_factory: Any = None) -> None:
        _check_pin(pin, "gpio.lamp_pin")
        self.pin = pin
        self._pwm = pwm
        self._device = _open(lambda: self._make_device(frequency_hz, active_high, pin_factory),
                             f"IR lamp on GPIO{pin}")
        self.level = 0.0

    def _make_device(self, frequency_hz: int, active_high: bool, pin_factory: Any) -> Any:
        import gpiozero  # noqa: PLC0415 - lazy: the station imports without gpiozero

        if self._pwm:
            return gpiozero.PWMOutputDevice(self.pin, active_high=active_high, initial_value=0.0,
                                            frequency=frequency_hz, pin_factory=pin_factory)
        return gpiozero.OutputDevice(self.pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)

    def set_level(self, level: float) -> None:
        level = max(0.0, min(1.0, float(level)))
        device = self._device
        if device is None:
            return  # closed: the station is stopping
        if self._pwm:
            device.value = level
        else:
            device.value = level > 0.0
        self.level = level if self._pwm else float(level > 0.0)

    def close(self) -> None:
        """Switch the lamp off and release the pin."""
        device, self._device = self._device, None
        if device is not None:
            device.off()
            device.close()
        self.level = 0.0


def _check_pin(pin: int, key: str) -> None:
    if pin not in GPIO_PINS:
        raise HardwareError(f"{key} = {pin}: not a GPIO of the 40-pin header; use a BCM number from 2 to 27")


def _open(make: Any, what: str) -> Any:
    """Build a gpiozero device; turn gpiozero's errors into a HardwareError that says what to do."""
    try:
        import gpiozero.exc as gpio_errors  # noqa: PLC0415
    except ImportError as exc:
        raise HardwareError(f"{what}: gpiozero is not importable ({exc}); install the station's `pi` extra "
                            "(or python3-gpiozero on Raspberry Pi OS)") from None
    try:
        return make()
    except gpio_errors.GPIOPinInUse as exc:
        raise HardwareError(f"{what}: {exc}; give each device its own pin in [gpio]") from exc
    except gpio_errors.PinPWMUnsupported:
        raise HardwareError(f"{what}: this pin library cannot do PWM on that pin; set gpio.lamp_pwm = false "
                            "for an on/off lamp") from None
    except gpio_errors.BadPinFactory as exc:
        raise HardwareError(f"{what}: no GPIO library ({exc}); on a Pi install python3-lgpio, elsewhere use "
                            '"simulated" hardware') from exc
    except (gpio_errors.GPIOZeroError, OSError) as exc:
        raise HardwareError(f"{what}: {exc or type(exc).__name__}; check the pin number in [gpio] and that the "
                            "service user is in the gpio group") from exc
