"""Builds the hardware adapters named in ``[hardware]``. Real adapters import their libraries lazily."""

from __future__ import annotations

from station.config import StationConfig
from station.errors import HardwareError
from station.hardware.ports import Camera, Illuminator, TriggerSource


def build_camera(config: StationConfig) -> Camera:
    kind = config.hardware.camera
    if kind == "simulated":
        from station.hardware.simulated import SimulatedCamera

        return SimulatedCamera(width=config.camera.width, height=config.camera.height)
    if kind == "replay":
        from station.hardware.replay import ReplayCamera

        assert config.camera.replay_dir is not None  # guaranteed by config.cross_field_problems
        return ReplayCamera(folder=config.resolve(config.camera.replay_dir), loop=config.camera.replay_loop)
    from station.hardware.picamera import Picamera2Camera

    return Picamera2Camera(width=config.camera.width, height=config.camera.height)


def build_trigger(config: StationConfig) -> TriggerSource:
    kind = config.hardware.trigger
    if kind == "simulated":
        from station.hardware.simulated import SimulatedPIR

        return SimulatedPIR()
    raise HardwareError(f"hardware.trigger = \"{kind}\" is not supported by this build yet; "
                        "use \"simulated\"")


def build_illuminator(config: StationConfig) -> Illuminator:
    kind = config.hardware.illuminator
    if kind == "simulated":
        from station.hardware.simulated import SimulatedIlluminator

        return SimulatedIlluminator()
    if kind == "none":
        from station.hardware.simulated import NoIlluminator

        return NoIlluminator()
    raise HardwareError(f"hardware.illuminator = \"{kind}\" is not supported by this build yet; "
                        "use \"simulated\" or \"none\"")
