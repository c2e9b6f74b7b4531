"""GPIO PIR and IR lamp through gpiozero's own mock pins, driven the way the world would (pin goes high →
trigger), and the warm-up gate that keeps a settling PIR from photographing an empty forest."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from station.errors import HardwareError
from station.hardware.daynight import NightSettings
from station.hardware.gpio import GpioLamp, GpioPir
from station.hardware.picamera import Picamera2Camera, PicameraSettings
from station.hardware.simulated import SimulatedPIR
from station.hardware.warmup import WarmupGate
from station.types import Trigger
from station.wire.ids import utc_now
from tests.fakes.picamera2_standin import CameraWorld

WAIT_S = 5.0  # generous: only reached when something is broken


class Inbox:
    """Collects triggers from a sensor thread; tests wait on it (an event), never sleep."""

    def __init__(self) -> None:
        self.triggers: list[Trigger] = []
        self._arrived = threading.Condition()

    def __call__(self, trigger: Trigger) -> None:
        with self._arrived:
            self.triggers.append(trigger)
            self._arrived.notify_all()

    def wait_for(self, count: int) -> list[Trigger]:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.triggers) >= count, WAIT_S), \
                f"{len(self.triggers)} of {count} triggers arrived"
            return list(self.triggers)


@pytest.fixture
def pins() -> MockFactory:
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()


def motion(pins: MockFactory, pin: int) -> None:
    """Something warm walks past: the PIR output goes high, then low again after its hold time."""
    pins.pin(pin).drive_high()
    pins.pin(pin).drive_low()


# -- PIR -----------------------------------------------------------------------------------------------------------
def test_pin_going_high_delivers_a_pir_trigger_with_the_pin(pins):
    inbox = Inbox()
    sensor = GpioPir(pin=17, pin_factory=pins)
    sensor.start(inbox)
    before = utc_now()
    pins.pin(17).drive_high()
    [trigger] = inbox.wait_for(1)
    assert (trigger.source, trigger.sensor, trigger.night) == ("pir", 17, None)
    assert before <= trigger.at <= utc_now()
    sensor.stop()


def test_each_motion_is_a_trigger_and_none_after_stop(pins):
    inbox = Inbox()
    sensor = GpioPir(pin=17, pin_factory=pins)
    sensor.start(inbox)
    for _ in range(3):
        motion(pins, 17)
    assert len(inbox.wait_for(3)) == 3 and sensor.fired == 3
    sensor.stop()
    motion(pins, 17)
    assert len(inbox.triggers) == 3
    GpioPir(pin=17, pin_factory=pins).start(inbox)  # stop() released the pin


def test_a_smoothed_pir_averages_samples_before_firing(pins):
    inbox = Inbox()
    sensor = GpioPir(pin=27, queue_len=3, threshold=0.5, sample_rate=100, pin_factory=pins)
    sensor.start(inbox)  # returns once the first samples are in
    pins.pin(27).drive_high()
    [trigger] = inbox.wait_for(1)
    assert trigger.sensor == 27
    sensor.stop()


def test_pir_pin_errors_say_what_to_change(pins):
    with pytest.raises(HardwareError, match="BCM number from 2 to 27"):
        GpioPir(pin=40, pin_factory=pins)
    GpioPir(pin=17, pin_factory=pins).start(Inbox())
    with pytest.raises(HardwareError, match=r"its own pin in \[gpio\]"):
        GpioPir(pin=17, pin_factory=pins).start(Inbox())


def test_the_gpio_module_imports_without_gpiozero_and_says_how_to_install_it():
    script = ("import sys; sys.modules['gpiozero'] = None\n"
              "import station.hardware.gpio as gpio\n"
              "from station.errors import HardwareError\n"
              "try:\n    gpio.GpioPir(pin=17).start(print)\n"
              "except HardwareError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "gpiozero is not importable" in result.stdout and "pi` extra" in result.stdout


# -- IR lamp ---------------------------------------------------------------------------------------------------------
def test_a_pwm_lamp_follows_the_level_and_goes_dark_on_close(pins):
    lamp = GpioLamp(pin=18, pwm=True, frequency_hz=2000, pin_factory=pins)
    pin = pins.pin(18)
    assert pin.state == 0 and pin.frequency == 2000
    for level, expected in ((0.25, 0.25), (1.0, 1.0), (1.7, 1.0), (-1.0, 0.0)):
        lamp.set_level(level)
        assert pin.state == expected == lamp.level
    lamp.set_level(0.6)
    lamp.close()
    assert pin.state == 0 and lamp.level == 0.0
    lamp.set_level(1.0)  # after close: ignored, not an error (the station is stopping)
    GpioLamp(pin=18, pin_factory=pins)  # the pin was released


def test_an_on_off_lamp_is_on_for_any_level_above_zero(pins):
    lamp = GpioLamp(pin=22, pwm=False, pin_factory=pins)
    lamp.set_level(0.3)
    assert pins.pin(22).state == 1 and lamp.level == 1.0
    lamp.set_level(0.0)
    assert pins.pin(22).state == 0


def test_an_active_low_lamp_driver(pins):
    lamp = GpioLamp(pin=23, pwm=False, active_high=False, pin_factory=pins)
    assert pins.pin(23).state == 1  # off = high on an active-low relay board
    lamp.set_level(1.0)
    assert pins.pin(23).state == 0


def test_pwm_on_a_pin_that_cannot_do_it_says_to_switch_pwm_off():
    factory = MockFactory()  # plain mock pins: no PWM
    try:
        with pytest.raises(HardwareError, match="lamp_pwm = false"):
            GpioLamp(pin=18, pwm=True, pin_factory=factory)
    finally:
        factory.reset()


def test_the_camera_pulses_a_gpio_lamp_for_each_night_frame(pins):
    lamp = GpioLamp(pin=18, pin_factory=pins)
    world = CameraWorld(lamp=lamp, ambient_lux=1.0)
    camera = Picamera2Camera(PicameraSettings(width=320, height=240, lores_size=(96, 96),
                                              night=NightSettings(lamp_level=0.8)), module=world, illuminator=lamp)
    camera.start()
    pins.pin(18).clear_states()
    for index in range(3):
        assert camera.capture(Trigger(source="pir", at=utc_now(), sensor=17), index).metadata["night"]
    camera.stop()
    levels = [state.state for state in pins.pin(18).states][1:]
    assert levels == [0.8, 0.0] * 3, "on for each frame, off in between"


# -- warm-up -----------------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_triggers_during_warm_up_are_ignored_and_counted():
    clock, inbox, ignored = Clock(), Inbox(), []
    pir = SimulatedPIR()
    gate = WarmupGate(pir, warmup_s=30.0, on_ignored=ignored.append, clock=clock)
    gate.start(inbox)
    assert gate.warming_up
    pir.fire()
    clock.now += 29.9
    pir.fire()
    assert inbox.triggers == [] and gate.ignored == 2 and len(ignored) == 2
    clock.now += 0.2
    assert not gate.warming_up
    pir.fire()
    assert len(inbox.wait_for(1)) == 1 and gate.ignored == 2
    gate.stop()
    pir.fire()
    assert len(inbox.triggers) == 1


def test_no_warm_up_passes_everything():
    inbox, pir = Inbox(), SimulatedPIR()
    gate = WarmupGate(pir, warmup_s=0.0)
    gate.start(inbox)
    pir.fire()
    assert len(inbox.triggers) == 1 and not gate.warming_up


def test_a_gpio_pir_settling_after_boot_takes_no_photos(pins):
    clock, inbox = Clock(), Inbox()
    gate = WarmupGate(GpioPir(pin=17, pin_factory=pins), warmup_s=45.0, clock=clock)
    gate.start(inbox)
    for _ in range(4):  # the element settling: random pulses
        motion(pins, 17)
    assert inbox.triggers == [] and gate.ignored == 4
    clock.now += timedelta(seconds=45).total_seconds()
    motion(pins, 17)
    [trigger] = inbox.wait_for(1)
    assert trigger.sensor == 17
    gate.stop()
