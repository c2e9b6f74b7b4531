"""Taking a ``StationSnapshot`` of the running ``StationApp`` (what the page, telemetry and systemd see)."""

from __future__ import annotations

import shutil
import time

from station.daemon.control import LoRaState, StationSnapshot
from station.daemon.host import StationHost
from station.daemon.parts import mqtt_up
from station.lora.settings import LoRaSection
from station.vision.station_vision import model_label


def take_snapshot(app: StationHost) -> StationSnapshot:
    """The running station at this moment (``station.daemon.control``)."""
    parts, config = app.parts, app.config
    usage = shutil.disk_usage(config.data_dir)
    uptime_s = time.monotonic() - app.started_at
    warming = bool(getattr(parts.trigger_source, "warming_up", False))
    return StationSnapshot(
        station_id=config.station.id, park=config.station.park,
        deployment_id=config.station.deployment_id or None, board=dict(app.board),
        disk_free=usage.free, disk_total=usage.total,
        disk_low=usage.free < 2 * config.storage.min_free_mb * 1_000_000,
        mqtt_connected=None if parts.uplink is None else parts.uplink.connected, lora=lora_state(app),
        queue_depths={"triggers": app.triggers.qsize(), "frames": app.frames.qsize(),
                      "store": parts.writer.pending()},
        model=model_label(parts.vision), uptime_s=uptime_s, counters=app.stats.snapshot(),
        warmup_left_s=config.capture.warmup_s - uptime_s if warming else 0.0)


def lora_state(app: StationHost) -> LoRaState | None:
    parts = app.parts
    if parts.lora is None:
        return None
    lora: LoRaSection = app.config.lora
    airtime_pct = None
    try:  # the LoRa thread owns the budget; a reading taken while it changes is simply skipped
        budget = parts.lora.budget.status()
        if budget["allowance_s"]:
            airtime_pct = round(100 * budget["remaining_s"] / budget["allowance_s"])
    except (RuntimeError, ValueError, KeyError):
        pass
    return LoRaState(region=lora.region, standby=mqtt_up(app), airtime_pct=airtime_pct)

