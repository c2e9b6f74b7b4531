"""How ``StationApp`` builds the running station's parts (``host.StationParts``) from the config."""

from __future__ import annotations

from contextlib import ExitStack

from station.daemon import board_reports
from station.daemon.clock import ClockGuard, load_trusted_unix
from station.daemon.commands import CommandWorker
from station.daemon.host import StationHost, StationParts
from station.hardware import factory
from station.hardware.board import CompanionBoard
from station.hardware.hotspot import HotspotSwitch, build_hotspot
from station.hardware.ports import Illuminator
from station.hardware.preview import PreviewCamera
from station.lora.link import LoRaLink
from station.lora.radio import build_lora_modem
from station.lora.settings import LoRaSection
from station.pipeline.alerts import ProvisionalAlerts
from station.pipeline.capture import CaptureWorker
from station.pipeline.classify import ClassifyWorker
from station.pipeline.compose import Composer
from station.pipeline.writer import StoreWriter
from station.store.recovery import RecoveryReport, recover
from station.store.repo import StationStore
from station.uplink.mqtt import MqttUplink
from station.vision.station_vision import Vision, load_vision
from station.web.server import WebServer
from station.wire.messages import ModelRef


def build_parts(app: StationHost, stops: ExitStack) -> StationParts:
    """Every part, none started yet (a GPIO lamp claims its pin here: released after the camera stops)."""
    config = app.config
    vision = load_vision(config)
    recovery = recover_store(app)
    clock, companion = None, None
    if config.uses_board:
        clock = ClockGuard(tolerance_s=config.bridge.clock_tolerance_s,
                           trusted_unix=load_trusted_unix(app.db_path))
        board_clock = clock
        companion = CompanionBoard(config.bridge, night_lux=config.camera.night_lux,
                                   on_telemetry=lambda reading: board_reports.on_reading(app, reading, board_clock),
                                   on_tamper=lambda detail: board_reports.on_tamper(app, detail))
    illuminator = factory.build_illuminator(config, board=companion)
    close_lamp = LampCloser(illuminator, companion)
    stops.callback(close_lamp)  # a start that fails before the camera still releases the pin
    camera = PreviewCamera(factory.build_camera(config, illuminator=illuminator, lores_size=vision.input_size,
                                                light=lambda: app.board.get("lux"),
                                                temperature=lambda: app.board.get("temperature_c"),
                                                on_failure=app.hardware_failed),
                           idle=app.camera_idle)
    writer = StoreWriter(db_path=app.db_path, stats=app.stats, on_outbox=app.notify_outbox,
                         maintenance=app.run_retention)
    commands = CommandWorker(app)
    hotspot = build_hotspot(config.hotspot)
    lora_settings: LoRaSection = config.lora
    switch = HotspotSwitch(hotspot) if hotspot is not None else None
    return StationParts(
        vision=vision, recovery=recovery, clock=clock, companion=companion, illuminator=illuminator,
        close_lamp=close_lamp, camera=camera,
        trigger_source=app.with_warmup(factory.build_trigger(config, board=companion)),
        writer=writer, commands=commands, uplink=build_uplink(app, vision, commands),
        lora=build_lora(app, companion) if lora_settings.enabled else None,
        classify=build_classify_worker(app, vision, writer),
        capture=build_capture_worker(app, vision, camera, illuminator, writer),
        hotspot=switch, web=WebServer.for_station(app, hotspot=switch))

def recover_store(app: StationHost) -> RecoveryReport:
    store = StationStore(app.db_path)
    try:
        return recover(store, app.media, station_id=app.config.station.id)
    finally:
        store.close()

def build_uplink(app: StationHost, vision: Vision, commands: CommandWorker) -> MqttUplink | None:
    if not app.config.mqtt.enabled:
        return None
    name, version = vision.model_refs[0]
    return MqttUplink(settings=app.config.mqtt, station_id=app.config.station.id, db_path=app.db_path,
                      stats=app.stats, model=ModelRef(name=name, version=version),
                      resolve=app.config.resolve, on_command=commands.submit,
                      on_link_change=app.notify_outbox)

def build_lora(app: StationHost, companion: CompanionBoard | None) -> LoRaLink:
    return LoRaLink(settings=app.config.lora, db_path=app.db_path, stats=app.stats,
                    modem_factory=lambda on_downlink: build_lora_modem(app.config, on_downlink, board=companion),
                    mqtt_up=(lambda: mqtt_up(app)),
                    status_frame=lambda sequence: board_reports.lora_status(app, sequence))

def mqtt_up(app: StationHost) -> bool:
    uplink = app.parts.uplink
    return uplink is not None and uplink.connected

def composer(app: StationHost, vision: Vision) -> Composer:
    return Composer(station_id=app.config.station.id, deployment_id=app.config.station.deployment_id,
                    vision=vision, thumbnail_max_bytes=app.config.mqtt.thumbnail_max_bytes,
                    thumbnail_format=app.config.mqtt.thumbnail_format)

def build_classify_worker(app: StationHost, vision: Vision, writer: StoreWriter) -> ClassifyWorker:
    return ClassifyWorker(vision=vision, frames_in=app.frames, writer=writer,
                          media=app.media, composer=composer(app, vision), stats=app.stats,
                          on_sequence=app.on_sequence,
                          alerts=ProvisionalAlerts(app.config.alerts, station=app.config.station))

def build_capture_worker(app: StationHost, vision: Vision, camera: PreviewCamera, illuminator: Illuminator,
                          writer: StoreWriter) -> CaptureWorker:
    return CaptureWorker(camera=camera, illuminator=illuminator, settings=app.config.capture,
                         triggers=app.triggers, frames_out=app.frames, writer=writer, media=app.media,
                         prepare=vision.prepare, jpeg_quality=app.config.camera.jpeg_quality,
                         station_id=app.config.station.id,
                         deployment_id=app.config.station.deployment_id or None, stats=app.stats)


class LampCloser:
    """A GPIO lamp: off, and its pin released (the board's lamp goes with the board); once, however often
    it is called: stop() calls it right after the camera, and the build registers it as a last resort."""

    def __init__(self, illuminator: Illuminator, companion: CompanionBoard | None) -> None:
        self._close = getattr(illuminator, "close", None) if illuminator is not companion else None

    def __call__(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()
