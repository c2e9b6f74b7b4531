"""Which keys of station.toml a remote ``config_set`` may change, and how each one takes effect.

Only operational settings are open to the central side: thresholds, intervals, capture and storage
settings. Identity, secrets, paths, the hardware wiring and the link itself are refused with the reason:
a leaked central credential must not be able to take over the ranger's page, cut the station off for
good, or orphan its undelivered outbox. An accepted key either takes effect at once (``live``) or the
station restarts itself to apply it (``restart``: it finishes what is in flight, exits with
``RESTART_EXIT_CODE`` and systemd starts it again).
"""

from __future__ import annotations

from typing import Literal

Effect = Literal["live", "restart"]

#: Exit code of `trapd run` when it stops to apply a remote change (EX_TEMPFAIL; systemd's
#: Restart=on-failure starts it again, RestartPreventExitStatus=2 does not cover it).
RESTART_EXIT_CODE = 75

REMOTE_KEYS: dict[str, Effect] = {
    "capture.burst_frames": "live",
    "capture.burst_interval_s": "live",
    "capture.quiet_period_s": "live",
    "capture.max_sequence_s": "live",
    "capture.timelapse_s": "live",
    "capture.warmup_s": "restart",
    "camera.width": "restart",
    "camera.height": "restart",
    "camera.jpeg_quality": "restart",
    "camera.night_lux": "restart",
    "camera.night_exposure_us": "restart",
    "camera.night_gain": "restart",
    "camera.night_lamp_level": "restart",
    "camera.capture_timeout_s": "restart",
    "camera.max_restarts": "restart",
    "storage.min_free_mb": "live",
    "model.threads": "restart",
    "mqtt.thumbnail_max_bytes": "live",
    "mqtt.telemetry_interval_s": "live",
    "mqtt.inflight": "restart",
    "mqtt.keepalive_s": "restart",
    "mqtt.reconnect_max_s": "restart",
    "queues.triggers": "restart",
    "queues.frames": "restart",
    "bridge.stuck_after_s": "live",
    "bridge.clock_tolerance_s": "live",
    "bridge.kick_interval_s": "restart",
    "lora.max_priority": "restart",
    "lora.mqtt_grace_s": "restart",
    "lora.status_interval_s": "restart",
}

_REFUSED_SECTIONS = {
    "station": "identity (id, park, data folder, deployment) is set on site or by provisioning",
    "hardware": "the hardware wiring is set on site",
    "gpio": "the hardware wiring is set on site",
    "web": "the ranger's page (address, password) is set on site (`trapd web passwd`)",
}
_REFUSED_KEYS = {
    "mqtt.enabled": "the link itself: a remote change could cut the station off for good",
    "mqtt.host": "the link itself: a remote change could cut the station off for good",
    "mqtt.port": "the link itself: a remote change could cut the station off for good",
    "mqtt.topic_root": "the link itself: a remote change could orphan the undelivered outbox",
    "mqtt.username": "a secret of the link: set by provisioning",
    "mqtt.password": "a secret of the link: set by provisioning",
    "mqtt.ca_file": "a path and the link's trust: set by provisioning",
    "mqtt.cert_file": "a path and the link's identity: set by provisioning",
    "mqtt.key_file": "a path and the link's identity: set by provisioning",
    "model.card": "a path: use the model_reload command, which checks the model before swapping it in",
    "model.classifier": "a path: use the model_reload command, which checks the model before swapping it in",
    "model.detector": "a path: set on site or by provisioning",
    "model.allow_non_field": "a safety switch for models not made for the field: set on site",
    "camera.replay_dir": "a path: set on site",
    "lora.enabled": "the backup link itself: set on site",
    "lora.app_key": "a secret: set by provisioning",
    "lora.dev_eui": "identity: set by provisioning",
    "lora.app_eui": "identity: set by provisioning",
}


def remote_effect(key_path: str) -> Effect:
    """How ``key_path`` takes effect; ValueError with the reason when a remote change may not touch it."""
    if key_path in REMOTE_KEYS:
        return REMOTE_KEYS[key_path]
    reason = _REFUSED_KEYS.get(key_path) or _REFUSED_SECTIONS.get(key_path.split(".")[0])
    if reason is None:
        reason = "not an operational key open to remote change"
    raise ValueError(f"{key_path[:80]}: refused: {reason}")
