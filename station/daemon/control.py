"""What the parts that serve the running station may do to it, and what they may see of it.

The command worker, the ranger's page, telemetry and the systemd status line used to take the whole
``StationApp`` and reach into its parts. They now depend on these two only:

* ``StationControl`` — what they may DO (and the fixed facts they need to do it: the config, the database,
  the media folder, the counters). ``StationApp`` implements it structurally.
* ``StationSnapshot`` — what they may SEE, taken at one moment by ``StationControl.snapshot()``.

Who uses what (the protocol has nothing beyond this list):

* commands: ``config`` (station.id, source_path, mqtt.command_max_age_s, mqtt.enabled), ``db_path``,
  ``stats.add``, ``notify_outbox``, ``on_trigger``, ``publish_status``, ``enqueue_telemetry``,
  ``apply_live``, ``enqueue_full_media``, ``reload_model``, ``request_restart``.
* web: ``config`` (station.id, web, resolve, capture), ``db_path``, ``media.root``, ``stats``,
  ``note_walk_test``, ``set_deployment``, ``preview_frame``, ``snapshot`` (the status page, the walk-test
  warm-up).
* telemetry and the systemd status line: ``snapshot`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from station.config.models import StationConfig
from station.stats import Stats
from station.store.media import MediaStore
from station.types import Trigger


@dataclass(frozen=True)
class LoRaState:
    """The backup link as the page shows it."""

    region: str
    standby: bool  # MQTT is up: LoRa only waits
    airtime_pct: int | None  # duty-cycle airtime left; None when unknown or unlimited


@dataclass(frozen=True)
class StationSnapshot:
    """The running station at one moment: power, storage, links, queues, model, counters."""

    station_id: str
    park: str
    deployment_id: str | None
    board: Mapping[str, Any]  # the companion board's latest reading (battery, temperature, lux...)
    disk_free: int
    disk_total: int
    disk_low: bool  # less than twice [storage] min_free_mb left
    mqtt_connected: bool | None  # None: no MQTT uplink configured
    lora: LoRaState | None  # None: LoRa off
    queue_depths: Mapping[str, int]  # triggers, frames, store
    model: str
    uptime_s: float
    counters: Mapping[str, int]
    warmup_left_s: float  # how long the PIR still settles after power-up (0 once it has)

    def count(self, name: str) -> int:
        return self.counters.get(name, 0)


class StationControl(Protocol):
    """What the command worker and the ranger's page may do to the running station."""

    @property
    def config(self) -> StationConfig: ...

    @property
    def db_path(self) -> Path: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def stats(self) -> Stats: ...

    def snapshot(self) -> StationSnapshot: ...

    def on_trigger(self, trigger: Trigger) -> None: ...

    def notify_outbox(self) -> None: ...

    def publish_status(self) -> None: ...

    def enqueue_telemetry(self) -> None: ...

    def enqueue_full_media(self, media_id: str) -> int: ...

    def apply_live(self, key_path: str, updated: StationConfig) -> None: ...

    def reload_model(self, card: Path | None = None) -> str: ...

    def request_restart(self, reason: str) -> None: ...

    def note_walk_test(self) -> None: ...

    def set_deployment(self, deployment_id: str) -> None: ...

    def preview_frame(self) -> bytes | None: ...
