"""Builds the hardware adapters named in ``[hardware]``. Real adapters import their libraries lazily."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from station.config.models import StationConfig
from station.errors import HardwareError
from station.hardware.board import CompanionBoard
from station.hardware.ports import Camera, Illuminator, TriggerSource


def build_camera(config: StationConfig, *, illuminator: Illuminator | None = None,
                 lores_size: tuple[int, int] | None = None, light: Callable[[], float | None] | None = None,
                 temperature: Callable[[], float | None] | None = None,
                 on_failure: Callable[[HardwareError], None] | None = None) -> Camera:
    """The camera named in ``hardware.camera``. The keywords serve the Pi camera: the lamp it lights for night
    frames, the model's input size for its low-resolution stream (the detector's, when there is one), light and
    temperature readings (e.g. from the companion board), and whom to tell when it has to be given up."""
    kind = config.hardware.camera
    if kind == "simulated":
        from station.hardware.simulated import SimulatedCamera

        return SimulatedCamera(width=config.camera.width, height=config.camera.height)
    if kind == "replay":
        from station.hardware.replay import ReplayCamera

        assert config.camera.replay_dir is not None  # guaranteed by config.cross_field_problems
        return ReplayCamera(folder=config.resolve(config.camera.replay_dir), loop=config.camera.replay_loop)
    from station.hardware.daynight import NightSettings
    from station.hardware.picamera import Picamera2Camera, PicameraSettings

    camera = config.camera
    if lores_size is not None:  # the ISP only scales down: a 640x640 detector input on a 640x480 main stream
        lores_size = (min(lores_size[0], camera.width), min(lores_size[1], camera.height))  # is resized after
    settings = PicameraSettings(
        width=camera.width, height=camera.height, lores_size=lores_size, jpeg_quality=camera.jpeg_quality,
        station_id=config.station.id, deployment_id=config.station.deployment_id or None,
        night=NightSettings(lux_threshold=camera.night_lux, exposure_us=camera.night_exposure_us,
                            analogue_gain=camera.night_gain, lamp_level=camera.night_lamp_level),
        capture_timeout_s=camera.capture_timeout_s, max_restarts=camera.max_restarts)
    return Picamera2Camera(settings, illuminator=illuminator, light=light, temperature=temperature,
                           on_failure=on_failure)


def build_trigger(config: StationConfig, *, board: CompanionBoard | None = None,
                  pin_factory: Any = None) -> TriggerSource:
    """The trigger source named in ``hardware.trigger`` (``pin_factory``: gpiozero's, None for its default)."""
    kind = config.hardware.trigger
    if kind == "bridge":
        assert board is not None  # the app opens the board whenever a role needs it
        return board
    if kind == "simulated":
        from station.hardware.simulated import SimulatedPIR

        return SimulatedPIR()
    if kind == "gpio":
        from station.hardware.gpio import GpioPir

        gpio = config.gpio
        return GpioPir(pin=gpio.pir_pin, queue_len=gpio.pir_queue_len, threshold=gpio.pir_threshold,
                       sample_rate=gpio.pir_sample_hz, pin_factory=pin_factory)
    raise HardwareError(f"hardware.trigger = \"{kind}\" is not a known trigger source; "
                        "use \"simulated\", \"gpio\" or \"bridge\"")


def build_illuminator(config: StationConfig, *, board: CompanionBoard | None = None,
                      pin_factory: Any = None) -> Illuminator:
    """The IR lamp named in ``hardware.illuminator`` (``pin_factory``: gpiozero's, None for its default)."""
    kind = config.hardware.illuminator
    if kind == "bridge":
        assert board is not None
        return board
    if kind == "simulated":
        from station.hardware.simulated import SimulatedIlluminator

        return SimulatedIlluminator()
    if kind == "none":
        from station.hardware.simulated import NoIlluminator

        return NoIlluminator()
    if kind == "gpio":
        from station.hardware.gpio import GpioLamp

        gpio = config.gpio
        return GpioLamp(pin=gpio.lamp_pin, pwm=gpio.lamp_pwm, frequency_hz=gpio.lamp_pwm_hz,
                        active_high=gpio.lamp_active_high, pin_factory=pin_factory)
    raise HardwareError(f"hardware.illuminator = \"{kind}\" is not a known lamp; "
                        "use \"simulated\", \"none\", \"gpio\" or \"bridge\"")
