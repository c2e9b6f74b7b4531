"""The running station's parts (``StationParts``, built by ``parts``), and ``StationHost``: what of the app
its own builders and reporters (``parts``, ``snapshot``, ``board_reports``) use, so none of them imports it."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from station.daemon.clock import ClockGuard
from station.daemon.commands import CommandWorker
from station.daemon.control import StationControl
from station.errors import HardwareError
from station.hardware.board import CompanionBoard
from station.hardware.hotspot import HotspotSwitch
from station.hardware.ports import Illuminator, TriggerSource
from station.hardware.preview import PreviewCamera
from station.hardware.timelapse import Ticker, TimelapseTrigger
from station.lora.link import LoRaLink
from station.pipeline.capture import CaptureWorker
from station.pipeline.classify import ClassifyWorker
from station.pipeline.compose import SequenceRecord
from station.pipeline.writer import StoreWriter
from station.store.recovery import RecoveryReport
from station.store.repo import StationStore
from station.uplink.mqtt import MqttUplink
from station.vision.classifier import Classifier
from station.vision.station_vision import Vision
from station.web.server import WebServer


@dataclass
class StationParts:
    """Every part of the running station, built by ``StationApp.start`` before any of them starts. A part is
    None only where the config has none (no board, no MQTT, no LoRa, no hotspot, no time-lapse)."""

    vision: Vision  # the models deciding each frame (detector first, when configured); swapped by reload_model
    recovery: RecoveryReport
    clock: ClockGuard | None  # checks the board's RTC readings (station/daemon/clock.py)
    companion: CompanionBoard | None
    illuminator: Illuminator
    close_lamp: Callable[[], None]  # stopped right after the camera (the lamp is claimed when built)
    camera: PreviewCamera  # the adapter, shared with the ranger's aiming preview
    trigger_source: TriggerSource
    writer: StoreWriter
    commands: CommandWorker
    uplink: MqttUplink | None
    lora: LoRaLink | None
    classify: ClassifyWorker
    capture: CaptureWorker
    hotspot: HotspotSwitch | None  # the ranger's Wi-Fi, on with the page
    web: WebServer  # the ranger's page (on only when asked)
    timelapse: TimelapseTrigger | None = None  # rebuilt when [capture] timelapse_s changes
    telemetry_ticker: Ticker | None = None  # rebuilt when [mqtt] telemetry_interval_s changes
    watchdog: Ticker | None = None  # kicks the board's hardware watchdog while healthy

    @property
    def classifier(self) -> Classifier | None:
        """The vision's classifier, if it has one."""
        return self.vision.classifier


class StationHost(StationControl, Protocol):
    """``StationControl`` and what the parts are wired to: the queues between the stages, the board's latest
    reading, the callbacks of the camera, the store writer, the classifier and the trigger source."""

    board: dict[str, Any]  # the companion board's latest reading (battery, temperature, lux...)
    triggers: queue.Queue[Any]  # trigger source -> capture
    frames: queue.Queue[Any]  # capture -> classify
    started_at: float  # time.monotonic() when the app was made
    on_sequence: Callable[[SequenceRecord], None] | None  # told of every sequence committed (demo, tests)

    @property
    def parts(self) -> StationParts: ...

    def healthy(self) -> bool: ...

    def camera_idle(self) -> bool: ...

    def hardware_failed(self, error: HardwareError) -> None: ...

    def with_warmup(self, source: TriggerSource) -> TriggerSource: ...

    def run_retention(self, store: StationStore) -> None: ...
