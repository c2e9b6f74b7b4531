"""`trapd selftest`: checks each part a station needs and says what to do about what fails."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.client import ConnectFlags
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from station.config.load import check_data_dir, load_config
from station.config.models import StationConfig
from station.errors import StationError
from station.hardware import factory
from station.hardware.scenes import Scene, render
from station.store.db import open_store_db
from station.store.paths import station_db_path
from station.types import Trigger
from station.vision.station_vision import load_vision, model_label
from station.web.settings import WebSection
from station.wire.ids import utc_now


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_selftest(config_path: Path) -> Iterator[Check]:
    try:
        config = load_config(config_path)
        check_data_dir(config)
    except StationError as exc:
        yield Check("config", False, f"{exc}")
        return
    yield Check("config", True, f"{config_path} is valid (station {config.station.id})")
    for name, probe in (("model", _model), ("camera", _camera), ("store", _store), ("link", _link),
                        ("page", _page)):
        yield _run(name, probe, config)


def _run(name: str, probe: Callable[[StationConfig], str], config: StationConfig) -> Check:
    try:
        return Check(name, True, probe(config))
    except StationError as exc:
        return Check(name, False, str(exc))
    except OSError as exc:
        return Check(name, False, f"{exc}")


def _model(config: StationConfig) -> str:
    vision = load_vision(config)
    result = vision.frame_result("selftest", "selftest", vision.prepare(render(Scene("blank", seed=1), (320, 240))))
    return (f"{model_label(vision)}: sha256 ok, test frame → {result.top_species} {result.top_score:.2f}"
            + (f" ({len(result.boxes)} boxes)" if vision.detector is not None else ""))


def _camera(config: StationConfig) -> str:
    camera = factory.build_camera(config)
    camera.start()
    try:
        shot = camera.capture(Trigger(source="manual", at=utc_now()), 0)
    finally:
        camera.stop()
    height, width = shot.pixels.shape[:2]
    return f"{config.hardware.camera}: captured a {width}x{height} frame"


def _store(config: StationConfig) -> str:
    db_path = station_db_path(config.data_dir)
    db = open_store_db(db_path)
    db.conn.close()
    free_mb = shutil.disk_usage(config.data_dir).free // 1_000_000
    if free_mb < config.storage.min_free_mb:
        raise StationError(f"only {free_mb} MB free under {config.data_dir} (want {config.storage.min_free_mb}); "
                           "swap the card or lower storage.min_free_mb")
    return f"{db_path}: integrity ok, schema current, {free_mb} MB free"


def _link(config: StationConfig) -> str:
    if not config.mqtt.enabled:
        return "MQTT disabled in config"
    result: dict[str, ReasonCode] = {}
    done = threading.Event()

    def on_connect(client: mqtt.Client, userdata: object, flags: ConnectFlags, reason_code: ReasonCode,
                   properties: Properties | None) -> None:
        result["rc"] = reason_code
        done.set()

    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                         client_id=f"trapd-selftest-{config.station.id}")
    if config.mqtt.username:
        client.username_pw_set(config.mqtt.username, config.mqtt.password or None)
    client.on_connect = on_connect
    try:
        client.connect(config.mqtt.host, config.mqtt.port, keepalive=10)
    except OSError as exc:
        raise StationError(f"MQTT {config.mqtt.host}:{config.mqtt.port} unreachable ({exc}); "
                           "detections stay queued until it is") from exc
    client.loop_start()
    try:
        if not done.wait(5):
            raise StationError(f"MQTT {config.mqtt.host}:{config.mqtt.port}: no CONNACK within 5 s")
    finally:
        client.disconnect()
        client.loop_stop()
    if result["rc"].is_failure:
        raise StationError(f"MQTT broker refused the station: {result['rc']}; check username/password")
    return f"MQTT {config.mqtt.host}:{config.mqtt.port} accepted the station"


def _page(config: StationConfig) -> str:
    """The ranger's page: its certificate loads (and which one it is), or it is plain HTTP."""
    from station.network.certs import fingerprint
    from station.web.tls import tls_context

    web: WebSection = config.web
    if not web.password_hash:
        return "off: no password (set one with `trapd web passwd`)"
    if web.tls_cert_file is None or web.tls_key_file is None:
        return f"plain HTTP on port {web.port}: phones give no GPS (run `trapd provision` for a certificate)"
    cert = config.resolve(web.tls_cert_file)
    tls_context(cert, config.resolve(web.tls_key_file))
    return f"HTTPS on port {web.port}, certificate SHA-256 {fingerprint(cert.read_bytes())}"
