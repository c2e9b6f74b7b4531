"""The station: builds every part from the config, wires the stages, starts and stops them in order.

    trigger source ─Trigger─▶ capture ─Frame─▶ classify ─SequenceRecord─▶ store writer ─▶ outbox ─▶ MQTT

``start()`` and ``stop()`` read top to bottom. Stop runs the pipeline dry in flow order (no new triggers,
the open sequence closes, the classifier finishes what was queued, the writer commits it), so a SIGTERM
persists everything in flight.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from typing import Callable

from pathlib import Path

from station.daemon.commands import CommandWorker
from station.config.models import StationConfig
from station.config.edit import set_key
from station.errors import ConfigError, HardwareError, StationError
from station.hardware import factory
from station.daemon.clock import ClockGuard, load_trusted_unix, save_trusted_unix
from station.hardware.board import CompanionBoard
from station.hardware.hotspot import HotspotSwitch, build_hotspot
from station.hardware.preview import PreviewCamera
from station.hardware.timelapse import Ticker, TimelapseTrigger
from station.hardware.warmup import WarmupGate
from station.hardware.ports import Illuminator, TriggerSource
from station.pipeline.capture import CaptureWorker
from station.pipeline.alerts import ProvisionalAlerts
from station.pipeline.classify import ClassifyWorker
from station.pipeline.compose import Composer, SequenceRecord
from station.stats import Stats
from station.pipeline.writer import StoreWriter
from station.daemon.runstate import clear_run_state, write_run_state
from station.wire.lora_codec import ResetCause, StatusFrame
from station.store import retention
from station.store.media import MediaStore
from station.store.paths import media_dir, station_db_path
from station.store.recovery import RecoveryReport, recover
from station.store.repo import StationStore
from station.daemon.telemetry import full_media_message, telemetry_message
from station.types import Trigger
from station.wire.messages import ModelRef
from station.lora.link import LoRaLink
from station.uplink.mqtt import MqttUplink
from station.vision.classifier import Classifier
from station.vision.station_vision import Vision, load_vision, model_label, reload_vision
from station.web.errors import WebError
from station.web.server import WebServer

log = logging.getLogger(__name__)

WALK_TEST_LOG_S = 5.0  # the walk-test feed polls every second; one station_log row per this many seconds


class StationApp:
    def __init__(self, config: StationConfig, *, on_sequence: Callable[[SequenceRecord], None] | None = None) -> None:
        self.config = config
        self.stats = Stats()
        self.db_path = station_db_path(config.data_dir)
        self.media = MediaStore(media_dir(config.data_dir))
        self._on_sequence = on_sequence
        self.triggers: queue.Queue = queue.Queue(maxsize=config.queues.triggers)
        self.frames: queue.Queue = queue.Queue(maxsize=config.queues.frames)
        self.camera: PreviewCamera | None = None  # the adapter, shared with the ranger's aiming preview
        self.trigger_source: TriggerSource | None = None
        self.timelapse: TimelapseTrigger | None = None
        self.illuminator: Illuminator | None = None
        self.vision: Vision | None = None  # the models deciding each frame (detector first, when configured)
        self.classifier: Classifier | None = None  # the vision's classifier, if it has one
        self.writer: StoreWriter | None = None
        self.capture: CaptureWorker | None = None
        self.classify: ClassifyWorker | None = None
        self.uplink: MqttUplink | None = None
        self.commands: CommandWorker | None = None
        self.lora: LoRaLink | None = None
        self.telemetry_ticker: Ticker | None = None
        self.board: dict = {}  # latest readings from the companion board (battery, temperature, lux...)
        self._walk_test_logged = -WALK_TEST_LOG_S
        self.companion: CompanionBoard | None = None
        self.clock: ClockGuard | None = None  # checks the board's RTC readings (station/daemon/clock.py)
        self.watchdog: Ticker | None = None
        self.web: WebServer | None = None  # the ranger's page (on only when asked)
        self.hotspot: HotspotSwitch | None = None  # the ranger's Wi-Fi, on with the page
        self.recovery: RecoveryReport | None = None
        self.started_at = time.monotonic()
        #: A fault the station cannot heal in-process (a camera that hung again after restarts, a worker
        #: thread that died); ``fatal_event`` wakes `trapd run`, which stops and exits 1 so that systemd
        #: restarts the service.
        self.fatal: StationError | None = None
        self.fatal_event = threading.Event()
        #: Set when a remote change applies at restart: `trapd run` stops cleanly and exits with
        #: ``RESTART_EXIT_CODE`` (also woken through ``fatal_event``).
        self.restart_reason: str | None = None
        self._previous_excepthook: Callable | None = None

    def start(self) -> None:
        """Start every stage; any part that cannot start raises a StationError that says why."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        config = self.config
        self._supervise_threads()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.vision = load_vision(config)
        self.classifier = self.vision.classifier
        self.recovery = self._recover()
        self._open_hardware()
        self._start_store_and_links()
        self._start_pipeline()
        self._start_triggers()
        hotspot = build_hotspot(config.hotspot)
        self.hotspot = HotspotSwitch(hotspot) if hotspot is not None else None
        self.web = WebServer.for_app(self)
        self._start_web()
        write_run_state(config.data_dir, config_fallback=config.fallback_reason)
        if config.fallback_reason:
            self.writer.submit(lambda store: store.log("config", f"fallback: {config.fallback_reason}"))
        log.info("station %s started (models: %s)", config.station.id, model_label(self.vision))

    def _open_hardware(self) -> None:
        config = self.config
        if config.uses_board:
            self.clock = ClockGuard(tolerance_s=config.bridge.clock_tolerance_s,
                                    trusted_unix=load_trusted_unix(self.db_path))
            self.companion = CompanionBoard(config.bridge, night_lux=config.camera.night_lux,
                                            on_telemetry=self._board_reading, on_tamper=self._tamper)
            self.companion.open()
        self.illuminator = factory.build_illuminator(config, board=self.companion)
        self.camera = PreviewCamera(factory.build_camera(config, illuminator=self.illuminator,
                                                         lores_size=self.vision.input_size,
                                                         light=lambda: self.board.get("lux"),
                                                         temperature=lambda: self.board.get("temperature_c"),
                                                         on_failure=self._hardware_failed),
                                    idle=self._camera_idle)
        self.trigger_source = self._with_warmup(factory.build_trigger(config, board=self.companion))
        if config.capture.timelapse_s > 0:
            self.timelapse = TimelapseTrigger(interval_s=config.capture.timelapse_s)
        self.camera.start()

    def _start_store_and_links(self) -> None:
        config = self.config
        early_reading = self.board  # the board reports right after the handshake, before there is a writer
        self.writer = StoreWriter(db_path=self.db_path, stats=self.stats, on_outbox=self.notify_outbox,
                                  maintenance=self._retention)
        self.writer.start()
        if early_reading:
            self.writer.submit(lambda store: store.add_board_telemetry(early_reading))
        self.commands = CommandWorker(self)
        self.commands.start()
        self.uplink = self._build_uplink()
        if config.lora.enabled:
            self.lora = self._build_lora()
            self.lora.start()
        if self.uplink is not None:
            self.uplink.start()
            if config.mqtt.telemetry_interval_s:
                self.telemetry_ticker = Ticker(config.mqtt.telemetry_interval_s, self.enqueue_telemetry)
                self.telemetry_ticker.start()

    def _start_pipeline(self) -> None:
        self.classify = self._build_classify_worker()
        self.classify.start()
        for closed in self.recovery.sequences_to_finish:
            self.frames.put(closed)
        self.capture = self._build_capture_worker()
        self.capture.start()

    def _start_triggers(self) -> None:
        self.trigger_source.start(self.on_trigger)
        if self.timelapse is not None:
            self.timelapse.start(self.on_trigger)
        if self.companion is not None:
            self.watchdog = Ticker(self.config.bridge.kick_interval_s, self._kick_watchdog)
            self.watchdog.start()

    def stop(self) -> None:
        """Stop in flow order so that everything captured is classified and committed."""
        if self.web is not None:
            self.web.stop()
        if self.hotspot is not None:
            self.hotspot.wait_settled(self.config.hotspot.switch_timeout_s)
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.telemetry_ticker is not None:
            self.telemetry_ticker.stop()
        if self.timelapse is not None:
            self.timelapse.stop()
        if self.trigger_source is not None:
            self.trigger_source.stop()
        if self.capture is not None:
            self.capture.stop()
        if self.camera is not None:
            self.camera.stop()
        close_lamp = getattr(self.illuminator, "close", None)  # a GPIO lamp: off, and its pin released
        if close_lamp is not None and self.illuminator is not self.companion:
            close_lamp()
        if self.classify is not None:
            self.classify.stop()
        if self.commands is not None:
            self.commands.stop()
        if self.writer is not None:
            self.writer.stop()
        if self.uplink is not None:
            self.uplink.stop()
        if self.lora is not None:
            self.lora.stop()
        if self.companion is not None:
            self.companion.close()
        clear_run_state(self.config.data_dir)
        if self._previous_excepthook is not None:
            threading.excepthook = self._previous_excepthook
            self._previous_excepthook = None
        log.info("station %s stopped", self.config.station.id)

    def on_trigger(self, trigger: Trigger) -> None:
        """Called by the trigger source's thread; never blocks (a full queue is counted and logged)."""
        self.stats.add("triggers")
        try:
            self.triggers.put_nowait(trigger)
        except queue.Full:
            self.stats.add("triggers_dropped")
            log.warning("trigger queue full: trigger from %s at %s dropped", trigger.source, trigger.at)

    def healthy(self) -> bool:
        """Every worker thread alive and none stuck on one item (what the hardware watchdog is kicked for)."""
        workers = [w for w in (self.writer, self.capture, self.classify, self.uplink, self.commands, self.lora)
                   if w is not None]
        stuck_after = self.config.bridge.stuck_after_s
        now = time.monotonic()
        stuck = [w for w in (self.capture, self.classify)
                 if w is not None and w.busy_since is not None and now - w.busy_since > stuck_after]
        return all(w.alive() for w in workers) and not stuck and self.fatal is None

    # -- supervision ---------------------------------------------------------------------------------------------
    def _supervise_threads(self) -> None:
        """No worker may die silently: an exception that ends any thread of the station is logged with its
        traceback and stops the station with exit 1 (systemd starts it again)."""
        previous = threading.excepthook
        self._previous_excepthook = previous

        def hook(args: threading.ExceptHookArgs) -> None:
            if args.exc_type is SystemExit or self.fatal_event.is_set():
                previous(args)
                return
            name = args.thread.name if args.thread is not None else "?"
            log.critical("worker thread %s died: %s: %s; stopping so that systemd restarts trapd", name,
                         args.exc_type.__name__, args.exc_value, exc_info=(args.exc_type, args.exc_value,
                                                                           args.exc_traceback))
            self.stats.add("threads_died")
            self.fatal = StationError(f"worker thread {name} died ({args.exc_type.__name__}: {args.exc_value})")
            self.fatal_event.set()

        threading.excepthook = hook

    def request_restart(self, reason: str) -> None:
        """A change applies at restart: wake `trapd run`, which stops in flow order (nothing in flight is
        lost) and exits with ``RESTART_EXIT_CODE`` for systemd to start it again."""
        log.warning("restarting to apply %s", reason)
        self.restart_reason = reason
        self.fatal_event.set()

    # -- the ranger's page -------------------------------------------------------------------------------------
    def _start_web(self) -> None:
        """On for [web] enabled_after_start_s. The page is a help, not the mission: if it cannot open (port
        taken), the station logs why and goes on capturing."""
        try:
            self.web.start()
        except WebError as exc:
            log.error("%s", exc)
        if self.hotspot is not None and not self.web.enabled:
            self.hotspot.want(False)  # left on by a crash or a power cut: off until the page opens (power)

    def enable_web(self, seconds: float) -> None:
        """Open the ranger's page for ``seconds`` (for a remote command or a button on the board)."""
        self.web.enable_for(seconds)

    def preview_frame(self) -> bytes | None:
        """A small JPEG of the camera's view for aiming, taken between sequences (None while one is open:
        bursts always have the camera first). Never stored, never classified."""
        return self.camera.preview_jpeg() if self.camera is not None else None

    def _camera_idle(self) -> bool:
        """No sequence open, no trigger waiting, the capture worker not in a burst."""
        return (self.triggers.empty() and self.capture is not None and self.capture.busy_since is None
                and self.stats.get("sequences_opened") == self.stats.get("sequences_closed"))

    def note_walk_test(self) -> None:
        """The ranger's walk-test feed is open: sequences now are the ranger walking past (Camtrap DP
        cameraSetupType calibration at export). Logged at most every WALK_TEST_LOG_S, not per poll."""
        now = time.monotonic()
        if self.writer is not None and now - self._walk_test_logged >= WALK_TEST_LOG_S:
            self._walk_test_logged = now
            self.writer.submit(lambda store: store.log("walk_test", "walk-test feed open"))

    def set_deployment(self, deployment_id: str) -> None:
        """A ranger started a deployment ("" : ended it). Sequences opened from now on carry it; the id is
        also written to station.toml so that it survives a restart."""
        if self.config.source_path is not None:
            try:
                set_key(self.config.source_path, "station.deployment_id", deployment_id)
            except (ConfigError, OSError) as exc:  # the deployment row is stored; only the default is not
                log.error("deployment id not saved to %s (%s): it applies until trapd restarts",
                          self.config.source_path, exc)
        self.config.station.deployment_id = deployment_id
        if self.capture is not None:
            self.capture.set_deployment_id(deployment_id or None)
        if self.classify is not None:
            self.classify.replace_model(self.vision, self._composer(self.vision))
        log.info("deployment %s", deployment_id or "ended")

    def _hardware_failed(self, error: HardwareError) -> None:
        """From the capture thread: a part is gone for good. Report it and wake `trapd run` to stop."""
        self.fatal = error
        self.stats.add("hardware_failures")
        log.critical("%s", error)
        self.fatal_event.set()

    def _with_warmup(self, source: TriggerSource) -> TriggerSource:
        """Real PIRs (gpio, bridge) fire at random while they settle after power-up: ignore and count."""
        config = self.config
        simulated = config.hardware.trigger == "simulated" or (
            config.hardware.trigger == "bridge" and config.bridge.port == "simulated")
        if simulated or config.capture.warmup_s <= 0:
            return source
        return WarmupGate(source, warmup_s=self.config.capture.warmup_s,
                          on_ignored=lambda trigger: self.stats.add("triggers_warmup_ignored"))

    def _kick_watchdog(self) -> None:
        if self.healthy():
            if self.companion.kick_watchdog():
                self.stats.add("watchdog_kicks")
        else:
            log.error("pipeline unhealthy: not kicking the hardware watchdog (the board will power-cycle the Pi)")
            self.stats.add("watchdog_withheld")

    def _board_reading(self, reading: dict) -> None:
        """From the bridge's reader thread: remember, store, and check the clock against the board's RTC."""
        self.board = reading
        if self.writer is not None:
            self.writer.submit(lambda store: store.add_board_telemetry(reading))
        check = self.clock.check(reading["rtc_unix"], received_unix=reading["received_unix"])
        if check is not None:
            self.stats.add(check.counter)
        if self.writer is not None:
            if check is not None:
                self.writer.submit(lambda store: store.log(check.kind, check.detail))
            trusted = self.clock.take_time_to_save()
            if trusted is not None:
                self.writer.submit(lambda store: save_trusted_unix(store, trusted))

    def _tamper(self, detail: str) -> None:
        log.warning("tamper: %s", detail)
        self.stats.add("tamper_events")
        if self.writer is not None:
            self.writer.submit(lambda store: store.log("tamper", detail))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once nothing is in flight: every opened or recovered sequence closed, classified and
        committed. Used by tools that must report a result (demo, replay, tests); it polls briefly, the
        station itself never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            opened = self.stats.get("sequences_opened") + len(self.recovery.sequences_to_finish)
            if (self.triggers.empty() and self.frames.empty()
                    and self.stats.get("sequences_finished") >= opened
                    and self.stats.get("sequences_closed") == self.stats.get("sequences_opened")
                    and self.writer is not None and self.writer.pending() == 0):
                return True
            time.sleep(0.02)
        return False

    # -- construction helpers ----------------------------------------------------------------------------------
    def _recover(self) -> RecoveryReport:
        store = StationStore(self.db_path)
        try:
            return recover(store, self.media, station_id=self.config.station.id)
        finally:
            store.close()

    def _build_uplink(self) -> MqttUplink | None:
        if not self.config.mqtt.enabled:
            return None
        name, version = self.vision.model_refs[0]
        return MqttUplink(settings=self.config.mqtt, station_id=self.config.station.id, db_path=self.db_path,
                          stats=self.stats, model=ModelRef(name=name, version=version),
                          resolve=self.config.resolve, on_command=self.commands.submit,
                          on_link_change=self.notify_outbox)

    def _retention(self, store: StationStore) -> None:
        report = retention.enforce(store, self.media, min_free_bytes=self.config.storage.min_free_mb * 1_000_000)
        if report.files_deleted or report.thumbnails_dropped:
            self.stats.add("retention_files_deleted", report.files_deleted)
            self.stats.add("retention_thumbnails_dropped", report.thumbnails_dropped)

    def notify_outbox(self) -> None:
        """Something was committed to the outbox: wake the uplink."""
        if self.uplink is not None:
            self.uplink.notify()
        if self.lora is not None:
            self.lora.notify()

    # -- services for commands and timers ----------------------------------------------------------------------
    def publish_status(self) -> None:
        if self.uplink is not None:
            self.uplink.publish_status()

    def enqueue_telemetry(self) -> None:
        message = telemetry_message(station_id=self.config.station.id, data_dir=self.config.data_dir,
                                    db_path=self.db_path, started_mono=self.started_at,
                                    queue_depths={"triggers": self.triggers.qsize(), "frames": self.frames.qsize(),
                                                  "store": self.writer.pending() if self.writer else 0},
                                    counters=self.stats.snapshot(), board=dict(self.board))
        self.writer.submit(lambda store: store.enqueue(message), outbox=True)

    def enqueue_full_media(self, media_id: str) -> int:
        message = full_media_message(db_path=self.db_path, media=self.media, media_id=media_id)
        self.writer.submit(lambda store: store.enqueue(message), outbox=True)
        return len(message.payload)

    def apply_live(self, key_path: str, updated: StationConfig) -> None:
        """Make a changed key take effect now (the workers read these settings from ``self.config``; the
        timers and the thumbnail budget are rebuilt)."""
        section_name, key = key_path.split(".")
        setattr(getattr(self.config, section_name), key, getattr(getattr(updated, section_name), key))
        if key_path == "capture.timelapse_s":
            if self.timelapse is not None:
                self.timelapse.stop()
                self.timelapse = None
            if self.config.capture.timelapse_s > 0:
                self.timelapse = TimelapseTrigger(interval_s=self.config.capture.timelapse_s)
                self.timelapse.start(self.on_trigger)
        elif key_path == "mqtt.telemetry_interval_s":
            if self.telemetry_ticker is not None:
                self.telemetry_ticker.stop()
                self.telemetry_ticker = None
            if self.uplink is not None and self.config.mqtt.telemetry_interval_s:
                self.telemetry_ticker = Ticker(self.config.mqtt.telemetry_interval_s, self.enqueue_telemetry)
                self.telemetry_ticker.start()
        elif key_path == "mqtt.thumbnail_max_bytes" and self.classify is not None:
            self.classify.replace_model(self.vision, self._composer(self.vision))

    def reload_model(self, card: Path | None = None) -> str:
        """Load and check a new model; only then swap it in. A bad model raises and the old one keeps running."""
        vision = reload_vision(self.config, self.vision, None if card is None else self.config.resolve(card))
        self.classify.replace_model(vision, self._composer(vision))
        self.capture.set_prepare(vision.prepare)
        self.vision, self.classifier = vision, vision.classifier
        log.info("model reloaded: %s", model_label(vision))
        return model_label(vision)

    def _build_lora(self) -> LoRaLink:
        return LoRaLink(settings=self.config.lora, db_path=self.db_path, stats=self.stats,
                        modem_factory=lambda on_downlink: factory.build_lora_modem(self.config, on_downlink,
                                                                                   board=self.companion),
                        mqtt_up=lambda: self.uplink is not None and self.uplink.connected,
                        status_frame=self._lora_status)

    def _lora_status(self, sequence: int) -> StatusFrame:
        usage = shutil.disk_usage(self.config.data_dir)
        return StatusFrame.measured(sequence=sequence, time=int(time.time()),
                                    battery_mv=self.board.get("battery_mv", 0),
                                    storage_used_pct=100 * (usage.total - usage.free) / usage.total,
                                    temperature_c=self.board.get("temperature_c"),
                                    queue_depth=self.frames.qsize(),
                                    reset_cause=self.board.get("reset_cause", ResetCause.UNKNOWN))

    def _composer(self, vision: Vision) -> Composer:
        return Composer(station_id=self.config.station.id, deployment_id=self.config.station.deployment_id,
                        vision=vision, thumbnail_max_bytes=self.config.mqtt.thumbnail_max_bytes,
                        thumbnail_format=self.config.mqtt.thumbnail_format)

    def _build_classify_worker(self) -> ClassifyWorker:
        return ClassifyWorker(vision=self.vision, frames_in=self.frames, writer=self.writer,
                              media=self.media, composer=self._composer(self.vision), stats=self.stats,
                              on_sequence=self._on_sequence,
                              alerts=ProvisionalAlerts(self.config.alerts, station=self.config.station))

    def _build_capture_worker(self) -> CaptureWorker:
        return CaptureWorker(camera=self.camera, illuminator=self.illuminator, settings=self.config.capture,
                             triggers=self.triggers, frames_out=self.frames, writer=self.writer, media=self.media,
                             prepare=self.vision.prepare, jpeg_quality=self.config.camera.jpeg_quality,
                             station_id=self.config.station.id,
                             deployment_id=self.config.station.deployment_id or None, stats=self.stats)
