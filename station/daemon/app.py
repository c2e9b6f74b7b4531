"""The station: builds every part from the config, wires the stages, starts and stops them in order.

    trigger source ─Trigger─▶ capture ─Frame─▶ classify ─SequenceRecord─▶ store writer ─▶ outbox ─▶ MQTT

``start()`` and ``stop()`` read top to bottom. Stop runs the pipeline dry in flow order (no new triggers,
the open sequence closes, the classifier finishes what was queued, the writer commits it), so a SIGTERM
persists everything in flight.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from station.config.edit import set_key
from station.config.models import StationConfig
from station.daemon import board_reports
from station.daemon.control import StationSnapshot
from station.daemon.host import StationParts
from station.daemon.parts import build_parts, composer
from station.daemon.runstate import clear_run_state, write_run_state
from station.daemon.snapshot import take_snapshot
from station.daemon.telemetry import full_media_message, telemetry_message
from station.errors import ConfigError, HardwareError, StationError
from station.hardware.ports import TriggerSource
from station.hardware.timelapse import Ticker, TimelapseTrigger
from station.hardware.warmup import WarmupGate
from station.network.settings import HotspotSection
from station.pipeline.compose import SequenceRecord
from station.stats import Stats
from station.store import retention
from station.store.media import MediaStore
from station.store.paths import media_dir, station_db_path
from station.store.repo import StationStore
from station.types import Trigger
from station.vision.station_vision import model_label, reload_vision
from station.web.errors import WebError

log = logging.getLogger(__name__)

WALK_TEST_LOG_S = 5.0  # the walk-test feed polls every second; one station_log row per this many seconds


def _start(stops: ExitStack, name: str, start: Callable[[], object], stop: Callable[[], object]) -> None:
    """Start the part ``name`` with its stop registered first on ``stops``, so that a start failing half-way
    is stopped too. The debug log names each part as it starts and as it stops (in the reverse order)."""
    _on_stop(stops, name, stop)
    log.debug("starting %s", name)
    start()


def _on_stop(stops: ExitStack, name: str, stop: Callable[..., object], *args: object) -> None:
    def stopping() -> None:
        log.debug("stopping %s", name)
        stop(*args)

    stops.callback(stopping)


class StationApp:
    def __init__(self, config: StationConfig, *, on_sequence: Callable[[SequenceRecord], None] | None = None) -> None:
        self.config = config
        self.stats = Stats()
        self.db_path = station_db_path(config.data_dir)
        self.media = MediaStore(media_dir(config.data_dir))
        self.on_sequence = on_sequence
        self.triggers: queue.Queue = queue.Queue(maxsize=config.queues.triggers)
        self.frames: queue.Queue = queue.Queue(maxsize=config.queues.frames)
        self.board: dict = {}  # latest readings from the companion board (battery, temperature, lux...)
        self._walk_test_logged = -WALK_TEST_LOG_S
        self.started_at = time.monotonic()
        #: A fault the station cannot heal in-process (a camera that hung again after restarts, a worker
        #: thread that died); ``fatal_event`` wakes `trapd run`, which stops and exits 1 so that systemd
        #: restarts the service.
        self.fatal: StationError | None = None
        self.fatal_event = threading.Event()
        #: Set when a remote change applies at restart: `trapd run` stops cleanly and exits with
        #: ``RESTART_EXIT_CODE`` (also woken through ``fatal_event``).
        self.restart_reason: str | None = None
        self._parts: StationParts | None = None  # built by start()
        self._stops = ExitStack()  # what start() started, stopped in reverse order by stop()

    @property
    def parts(self) -> StationParts:
        """The running parts (``start()`` builds them)."""
        if self._parts is None:
            raise StationError("the station has not been started: call start() first")
        return self._parts

    def start(self) -> None:
        """Build every part, then start them; any part that cannot start raises a StationError that says why,
        and what had started is stopped again (in reverse order) before it propagates."""
        config = self.config
        with ExitStack() as stops:
            stops.callback(lambda: log.info("station %s stopped", config.station.id))
            self._supervise_threads(stops)
            stops.callback(clear_run_state, config.data_dir)
            config.data_dir.mkdir(parents=True, exist_ok=True)
            self._parts = parts = build_parts(self, stops)
            self._start_parts(parts, stops)
            write_run_state(config.data_dir, config_fallback=config.fallback_reason)
            self._stops = stops.pop_all()
        if config.fallback_reason:
            parts.writer.submit(lambda store: store.log("config", f"fallback: {config.fallback_reason}"))
        log.info("station %s started (models: %s)", config.station.id, model_label(parts.vision))

    def _start_parts(self, parts: StationParts, stops: ExitStack) -> None:
        """Start in the reverse of stop's flow order: links and store first, then the pipeline from its end
        (classify, camera, capture) to its start (triggers, timers), the ranger's page last."""
        if parts.companion is not None:
            log.debug("starting board")
            parts.companion.open()
            _on_stop(stops, "board", parts.companion.close)  # registered once open (a failed open closes itself)
        if parts.lora is not None:
            _start(stops, "lora", parts.lora.start, parts.lora.stop)
        if parts.uplink is not None:
            _start(stops, "mqtt", parts.uplink.start, parts.uplink.stop)
        early_reading = self.board  # the board reports right after the handshake, before the writer runs
        _start(stops, "writer", parts.writer.start, parts.writer.stop)
        if early_reading:
            parts.writer.submit(lambda store: store.add_board_telemetry(early_reading))
        _start(stops, "commands", parts.commands.start, parts.commands.stop)
        _start(stops, "classify", parts.classify.start, parts.classify.stop)
        for closed in parts.recovery.sequences_to_finish:
            self.frames.put(closed)
        _on_stop(stops, "lamp", parts.close_lamp)  # off and its pin released once the camera has stopped
        _start(stops, "camera", parts.camera.start, parts.camera.stop)
        _start(stops, "capture", parts.capture.start, parts.capture.stop)
        self._start_triggers(parts, stops)
        if parts.hotspot is not None:
            hotspot: HotspotSection = self.config.hotspot
            _on_stop(stops, "hotspot", parts.hotspot.wait_settled, hotspot.switch_timeout_s)
        _start(stops, "web", lambda: self._start_web(parts), parts.web.stop)

    def _start_triggers(self, parts: StationParts, stops: ExitStack) -> None:
        _start(stops, "triggers", lambda: parts.trigger_source.start(self.on_trigger), parts.trigger_source.stop)
        _start(stops, "timelapse", lambda: self._switch_timelapse(True), lambda: self._switch_timelapse(False))
        _start(stops, "telemetry", lambda: self._switch_telemetry(True), lambda: self._switch_telemetry(False))
        if parts.companion is not None:
            companion = parts.companion
            parts.watchdog = Ticker(self.config.bridge.kick_interval_s,
                                    lambda: board_reports.kick_watchdog(self, companion))
            _start(stops, "watchdog", parts.watchdog.start, parts.watchdog.stop)

    def stop(self) -> None:
        """Stop in flow order (the reverse of start) so that everything captured is classified and committed:
        no new triggers, the open sequence closes, the classifier finishes what was queued, the writer
        commits it, then the links, the board, the run state and the thread supervision."""
        self._stops.close()

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
        if self._parts is None:
            return self.fatal is None  # nothing started, nothing dead
        parts = self._parts
        workers = [w for w in (parts.writer, parts.capture, parts.classify, parts.uplink, parts.commands,
                               parts.lora) if w is not None]
        stuck_after = self.config.bridge.stuck_after_s
        now = time.monotonic()
        stuck = [w for w in (parts.capture, parts.classify)
                 if w.busy_since is not None and now - w.busy_since > stuck_after]
        return all(w.alive() for w in workers) and not stuck and self.fatal is None

    # -- supervision ---------------------------------------------------------------------------------------------
    def _supervise_threads(self, stops: ExitStack) -> None:
        """No worker may die silently: an exception that ends any thread of the station is logged with its
        traceback and stops the station with exit 1 (systemd starts it again)."""
        previous = threading.excepthook
        stops.callback(setattr, threading, "excepthook", previous)

        def hook(args: threading.ExceptHookArgs) -> None:
            if args.exc_type is SystemExit or self.fatal_event.is_set():
                previous(args)
                return
            name = args.thread.name if args.thread is not None else "?"
            log.critical("worker thread %s died: %s: %s; stopping so that systemd restarts trapd", name,
                         args.exc_type.__name__, args.exc_value, exc_info=args.exc_value or False)
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
    def _start_web(self, parts: StationParts) -> None:
        """On for [web] enabled_after_start_s. The page is a help, not the mission: if it cannot open (port
        taken), the station logs why and goes on capturing."""
        try:
            parts.web.start()
        except WebError as exc:
            log.error("%s", exc)
        if parts.hotspot is not None and not parts.web.enabled:
            parts.hotspot.want(False)  # left on by a crash or a power cut: off until the page opens (power)

    def enable_web(self, seconds: float) -> None:
        """Open the ranger's page for ``seconds`` (for a remote command or a button on the board)."""
        self.parts.web.enable_for(seconds)

    def preview_frame(self) -> bytes | None:
        """A small JPEG of the camera's view for aiming, taken between sequences (None while one is open:
        bursts always have the camera first). Never stored, never classified."""
        return self.parts.camera.preview_jpeg()

    def camera_idle(self) -> bool:
        """No sequence open, no trigger waiting, the capture worker not in a burst."""
        return (self.triggers.empty() and self._parts is not None and self._parts.capture.busy_since is None
                and self.stats.get("sequences_opened") == self.stats.get("sequences_closed"))

    def note_walk_test(self) -> None:
        """The ranger's walk-test feed is open: sequences now are the ranger walking past (Camtrap DP
        cameraSetupType calibration at export). Logged at most every WALK_TEST_LOG_S, not per poll."""
        now = time.monotonic()
        if now - self._walk_test_logged >= WALK_TEST_LOG_S:
            self._walk_test_logged = now
            self.parts.writer.submit(lambda store: store.log("walk_test", "walk-test feed open"))

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
        parts = self.parts
        parts.capture.set_deployment_id(deployment_id or None)
        parts.classify.replace_model(parts.vision, composer(self, parts.vision))
        log.info("deployment %s", deployment_id or "ended")

    def hardware_failed(self, error: HardwareError) -> None:
        """From the capture thread: a part is gone for good. Report it and wake `trapd run` to stop."""
        self.fatal = error
        self.stats.add("hardware_failures")
        log.critical("%s", error)
        self.fatal_event.set()

    def with_warmup(self, source: TriggerSource) -> TriggerSource:
        """Real PIRs (gpio, bridge) fire at random while they settle after power-up: ignore and count."""
        config = self.config
        simulated = config.hardware.trigger == "simulated" or (
            config.hardware.trigger == "bridge" and config.bridge.port == "simulated")
        if simulated or config.capture.warmup_s <= 0:
            return source
        return WarmupGate(source, warmup_s=self.config.capture.warmup_s,
                          on_ignored=lambda trigger: self.stats.add("triggers_warmup_ignored"))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once nothing is in flight: every opened or recovered sequence closed, classified and
        committed. Used by tools that must report a result (demo, replay, tests); it polls briefly, the
        station itself never does."""
        parts = self.parts
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            opened = self.stats.get("sequences_opened") + len(parts.recovery.sequences_to_finish)
            if (self.triggers.empty() and self.frames.empty()
                    and self.stats.get("sequences_finished") >= opened
                    and self.stats.get("sequences_closed") == self.stats.get("sequences_opened")
                    and parts.writer.pending() == 0):
                return True
            time.sleep(0.02)
        return False

    def run_retention(self, store: StationStore) -> None:
        """The card is filling: delete what is delivered, oldest first (the writer calls this between writes)."""
        report = retention.enforce(store, self.media, min_free_bytes=self.config.storage.min_free_mb * 1_000_000)
        if report.files_deleted or report.thumbnails_dropped:
            self.stats.add("retention_files_deleted", report.files_deleted)
            self.stats.add("retention_thumbnails_dropped", report.thumbnails_dropped)

    def notify_outbox(self) -> None:
        """Something was committed to the outbox: wake the uplink."""
        parts = self._parts  # None only while start() builds the parts
        if parts is not None and parts.uplink is not None:
            parts.uplink.notify()
        if parts is not None and parts.lora is not None:
            parts.lora.notify()

    # -- services for commands and timers ----------------------------------------------------------------------
    def publish_status(self) -> None:
        uplink = self.parts.uplink
        if uplink is not None:
            uplink.publish_status()

    def enqueue_telemetry(self) -> None:
        message = telemetry_message(self.snapshot(), db_path=self.db_path)
        self.parts.writer.submit(lambda store: store.enqueue(message), outbox=True)

    def enqueue_full_media(self, media_id: str) -> int:
        message = full_media_message(db_path=self.db_path, media=self.media, media_id=media_id)
        self.parts.writer.submit(lambda store: store.enqueue(message), outbox=True)
        return len(message.payload)

    def apply_live(self, key_path: str, updated: StationConfig) -> None:
        """Make a changed key take effect now (the workers read these settings from ``self.config``; the
        timers and the thumbnail budget are rebuilt)."""
        section_name, key = key_path.split(".")
        setattr(getattr(self.config, section_name), key, getattr(getattr(updated, section_name), key))
        if key_path == "capture.timelapse_s":
            self._switch_timelapse(True)
        elif key_path == "mqtt.telemetry_interval_s":
            self._switch_telemetry(True)
        elif key_path == "mqtt.thumbnail_max_bytes":
            parts = self.parts
            parts.classify.replace_model(parts.vision, composer(self, parts.vision))

    def _switch_timelapse(self, on: bool) -> None:
        """Stop the time-lapse timer; with ``on``, start a new one if [capture] timelapse_s asks for it."""
        parts = self.parts
        if parts.timelapse is not None:
            parts.timelapse.stop()
            parts.timelapse = None
        if on and self.config.capture.timelapse_s > 0:
            parts.timelapse = TimelapseTrigger(interval_s=self.config.capture.timelapse_s)
            parts.timelapse.start(self.on_trigger)

    def _switch_telemetry(self, on: bool) -> None:
        """Stop the telemetry timer; with ``on``, start a new one if there is an uplink and an interval."""
        parts = self.parts
        if parts.telemetry_ticker is not None:
            parts.telemetry_ticker.stop()
            parts.telemetry_ticker = None
        if on and parts.uplink is not None and self.config.mqtt.telemetry_interval_s:
            parts.telemetry_ticker = Ticker(self.config.mqtt.telemetry_interval_s, self.enqueue_telemetry)
            parts.telemetry_ticker.start()

    def reload_model(self, card: Path | None = None) -> str:
        """Load and check a new model; only then swap it in. A bad model raises and the old one keeps running."""
        parts = self.parts
        vision = reload_vision(self.config, parts.vision, None if card is None else self.config.resolve(card))
        parts.classify.replace_model(vision, composer(self, vision))
        parts.capture.set_prepare(vision.prepare)
        parts.vision = vision
        log.info("model reloaded: %s", model_label(vision))
        return model_label(vision)

    def snapshot(self) -> StationSnapshot:
        """The running station at this moment (``station.daemon.control``)."""
        return take_snapshot(self)
