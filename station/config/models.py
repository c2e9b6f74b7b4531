"""station.toml as pydantic models: unknown keys rejected, every field bounded and described.

The descriptions are not decoration: `trapd init` turns them into the comments of the default file
(`station.config.file`), and `trapd schema` publishes them. A mistake in the file becomes one
``ConfigError`` naming the file, the key path and the problem.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.fields import FieldInfo

from station.lora.settings import LoRaSection
from station.network.settings import HotspotSection
from station.pipeline.alerts import AlertSection
from station.vision.settings import DetectionSection
from station.web.settings import WebSection
from station.wire.station_id import STATION_ID_PATTERN

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.-]+$")


class Section(BaseModel):
    # strict: a TOML string is not a number and true is not 3 (`burst_frames = "3"` is a mistake to report).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


_SCALARS = {int, float, bool, str, int | None, float | None, bool | None, str | None}


def _strict(section: type[BaseModel]) -> type[BaseModel]:
    """The same section with strict scalars (for sections defined beside their feature): a TOML string is not
    a number, true is not 3. Paths, lists and tuples are validated as the section defines them."""
    namespace: dict[str, Any] = {"__doc__": section.__doc__, "__module__": __name__, "__annotations__": {}}
    for name, info in section.model_fields.items():
        if info.annotation in _SCALARS:
            namespace["__annotations__"][name] = info.annotation
            namespace[name] = FieldInfo.merge_field_infos(info, Field(strict=True))
    return type(f"Strict{section.__name__}", (section,), namespace)


if TYPE_CHECKING:  # the same fields as the feature's section; only the validation is stricter
    StrictLoRaSection = LoRaSection
    StrictWebSection = WebSection
    StrictHotspotSection = HotspotSection
    StrictAlertSection = AlertSection
    StrictDetectionSection = DetectionSection
else:
    StrictLoRaSection = _strict(LoRaSection)
    StrictWebSection = _strict(WebSection)
    StrictHotspotSection = _strict(HotspotSection)
    StrictAlertSection = _strict(AlertSection)
    StrictDetectionSection = _strict(DetectionSection)


def check_hostname(value: str) -> str:
    """An IP address, or a DNS name of 1–63-character labels (no empty label, no leading/trailing '-')."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{value[:80]!r} is not a host name or IP address (labels of letters, digits and '-', "
                         "separated by single dots)")
    return value


def check_topic_root(value: str) -> str:
    """1–8 topic levels of letters, digits, '_', '.', '-'; at most 128 characters (no wildcards, no empty level)."""
    levels = value.split("/")
    if len(value) > 128 or len(levels) > 8 or not all(_TOPIC_LEVEL.match(level) for level in levels):
        raise ValueError("must be 1 to 8 levels of letters, digits, '_', '.', '-' separated by '/', "
                         "at most 128 characters (e.g. camtrap/v1)")
    return value


class StationSection(Section):
    """Who this station is. The id appears in every topic and message: keep it stable for the unit's life."""

    id: str = Field(pattern=STATION_ID_PATTERN,
                    description="Station id: lowercase letters, digits, '-' and '_' (e.g. llnp-0412).")
    park: str = Field("LLNP", min_length=1, max_length=32, description="Park code, e.g. LLNP or TLNP.")
    country: Literal["RU", "CN", "XX"] = Field("RU", description="ISO country of the site: RU or CN (XX: test).")
    data_dir: Path = Field(Path("data"), strict=False,
                           description="Folder for the database and media, relative to this file.")
    deployment_id: str = Field("", max_length=64,
                               description="Current deployment id (Camtrap DP deploymentID); empty = none yet.")


class HardwareSection(Section):
    """Which adapter drives each piece of hardware. Fakes are chosen here, explicitly, never as a fallback."""

    camera: Literal["simulated", "replay", "picamera2"] = Field(
        description="simulated (rendered scenes), replay (a folder of JPEGs) or picamera2 (Pi camera).")
    trigger: Literal["simulated", "gpio", "bridge"] = Field(
        description="simulated (fired by demo/tests), gpio (PIR on a pin) or bridge (companion MCU).")
    illuminator: Literal["none", "simulated", "gpio", "bridge"] = Field(
        "none", description="IR lamp: none, simulated, gpio or bridge.")


class CameraSection(Section):
    """Frame size and encoding of stored images."""

    width: int = Field(1280, ge=64, le=9152, description="Stored image width in pixels.")
    height: int = Field(720, ge=64, le=6944, description="Stored image height in pixels.")
    jpeg_quality: int = Field(85, ge=10, le=100, description="JPEG quality of stored images.")
    replay_dir: Path | None = Field(None, strict=False,
                                    description="camera = replay: folder of JPEGs, read in name order.")
    replay_loop: bool = Field(True, description="camera = replay: start again after the last file.")
    night_lux: float = Field(10.0, ge=0.0, le=100_000.0,
                             description="picamera2: below this light level (lux) bursts use night exposure and "
                                         "the IR lamp; day returns above twice this.")
    night_exposure_us: int = Field(20_000, ge=100, le=1_000_000,
                                   description="picamera2: exposure time at night in microseconds (shorter freezes "
                                               "motion, longer gathers more lamp light).")
    night_gain: float = Field(8.0, ge=1.0, le=16.0, description="picamera2: analogue gain at night.")
    night_lamp_level: float = Field(1.0, ge=0.0, le=1.0, description="IR lamp level for night frames (0 to 1).")
    capture_timeout_s: float = Field(5.0, ge=0.5, le=60.0,
                                     description="picamera2: a camera call taking longer means a hung camera; "
                                                 "it is restarted.")
    max_restarts: int = Field(2, ge=0, le=10,
                              description="picamera2: camera restarts in a row before giving up; the service then "
                                          "exits with an error and systemd restarts it.")


class CaptureSection(Section):
    """How a trigger becomes a burst, and bursts a sequence (a Camtrap DP event)."""

    burst_frames: int = Field(3, ge=1, le=30, description="Frames captured per trigger.")
    burst_interval_s: float = Field(0.5, ge=0.0, le=10.0, description="Seconds between frames of a burst.")
    quiet_period_s: float = Field(10.0, ge=0.0, le=600.0,
                                  description="A trigger within this many seconds of the last burst extends "
                                              "the same sequence.")
    timelapse_s: float = Field(0.0, ge=0.0, le=86_400.0,
                               description="Also capture a burst every this many seconds (0: off); "
                                           "Camtrap DP captureMethod timeLapse.")
    max_sequence_s: float = Field(300.0, ge=1.0, le=3600.0,
                                  description="A sequence is closed after this long even if triggers go on.")
    warmup_s: float = Field(30.0, ge=0.0, le=600.0,
                            description="PIR triggers (gpio or bridge) are ignored and counted for this long after "
                                        "start, while the PIR and the camera settle.")


#: ``[model] detector = "bundled"``: the detector installed with trapd (models/detector/).
BUNDLED = "bundled"


class ModelSection(Section):
    """The models. Each card beside its .tflite says everything else (input, classes, thresholds)."""

    detector: Path | None = Field(None, strict=False,
                                  description="Detector card (kind = \"detector\"), relative to this file, "
                                              "or \"bundled\" (the detector installed with trapd); set: "
                                              "every frame goes through it first and only its boxes count. "
                                              "Unset: the classifier sees whole frames.")
    classifier: Path | None = Field(None, strict=False,
                                    description="Classifier card: names the species in each box (with a "
                                                "detector) or in the whole frame (without one).")
    card: Path | None = Field(None, strict=False,
                              description="Old name of classifier (kept working); unset with no detector "
                                          "and no classifier: the bundled pipeline model (simulated scenes "
                                          "only).")
    people: Path | None = Field(None, strict=False,
                                description="Person/vehicle detector card (kind = \"detector\") run beside "
                                            "[model] detector: its person and vehicle boxes name the "
                                            "detector's boxes (a one-class detector cannot tell a person "
                                            "from an animal). Unset: people are reported as animals.")
    allow_non_field: bool = Field(False, description="Let a model whose card says field_model = false run on a "
                                                     "real camera (picamera2); refused otherwise.")
    threads: int = Field(2, ge=1, le=8, description="Interpreter threads.")


class StorageSection(Section):
    """Retention under disk pressure: media of forwarded or empty sequences go first; records never."""

    min_free_mb: int = Field(200, ge=0, le=1_000_000, description="Free space to keep on the data disk (MB).")


class MqttSection(Section):
    """The MQTT uplink (QoS 1; a message is sent only when the broker acknowledged it)."""

    enabled: bool = Field(True, description="Forward over MQTT.")
    host: str = Field("127.0.0.1", min_length=1, max_length=253, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 for TLS).")
    topic_root: str = Field("camtrap/v1", min_length=1, max_length=128,
                            description="Topics are <root>/<station id>/... (levels of letters, digits, _ . -).")
    keepalive_s: int = Field(60, ge=5, le=3600, description="MQTT keepalive in seconds.")
    username: str = Field("", description="User name (empty: none).")
    password: str = Field("", description="Password (empty: none).")
    ca_file: Path | None = Field(None, strict=False,
                                 description="CA certificate (PEM) of the broker; set to use TLS.")
    cert_file: Path | None = Field(None, strict=False,
                                   description="This station's client certificate (PEM), with key_file.")
    key_file: Path | None = Field(None, strict=False, description="Private key of cert_file (PEM).")
    telemetry_interval_s: float = Field(900.0, ge=0.0, le=86_400.0,
                                        description="Publish telemetry every this many seconds (0: only on request).")
    inflight: int = Field(32, ge=1, le=1000, description="Messages awaiting PUBACK at once.")
    thumbnail_max_bytes: int = Field(12_000, ge=0, le=1_000_000,
                                     description="Byte budget of a detection's thumbnail (0: send none).")
    thumbnail_format: Literal["webp", "jpeg"] = Field(
        "webp", description="Thumbnail encoding: webp (about a quarter smaller at the same SSIM) or jpeg.")
    reconnect_max_s: float = Field(300.0, ge=1.0, le=3600.0, description="Longest wait between reconnects.")
    encoding: Literal["zstd-dict", "json"] = Field(
        "zstd-dict",
        description='Payload encoding (docs/wire.md): "zstd-dict" (compact, default) or "json" (debugging).')
    batch_max: int = Field(100, ge=1, le=1000,
                           description="A backlog goes as batches of up to this many messages (1: never batch).")
    session_expiry_s: int = Field(7 * 86_400, ge=0, le=4_294_967_295,
                                  description="The broker keeps this station's session (and its commands) this long "
                                              "while it is offline.")
    command_max_age_s: float = Field(86_400.0, ge=1.0, le=30 * 86_400.0,
                                     description="A command with sent_at but no expires_at expires after this long.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_hostname(value)

    @field_validator("topic_root")
    @classmethod
    def _topic_root(cls, value: str) -> str:
        return check_topic_root(value)


class BridgeSection(Section):
    """The companion microcontroller (PIR, IR lamp, battery, RTC, hardware watchdog) on a UART."""

    port: str = Field("/dev/serial0", min_length=1,
                      description='Serial device of the board, or "simulated" for the built-in simulated board.')
    baudrate: int = Field(115200, ge=1200, le=921600, description="UART speed.")
    watchdog_timeout_s: int = Field(120, ge=10, le=3600,
                                    description="The board power-cycles the Pi if not kicked for this long.")
    kick_interval_s: float = Field(20.0, ge=1.0, le=600.0,
                                   description="Kick the watchdog this often while the pipeline is healthy.")
    stuck_after_s: float = Field(120.0, ge=5.0, le=3600.0,
                                 description="A worker busy on one item this long counts as hung (no more kicks).")
    clock_tolerance_s: float = Field(5.0, ge=0.5, le=3600.0,
                                     description="System clock and RTC differing by more is recorded as a jump.")
    simulated_telemetry_s: float = Field(60.0, ge=0.1, le=3600.0,
                                         description='port = "simulated": telemetry period of the simulated board.')


class GpioSection(Section):
    """PIR sensor and IR lamp on the Pi's own pins (BCM numbers): hardware.trigger / illuminator = "gpio"."""

    pir_pin: int = Field(17, ge=2, le=27, description="BCM number of the pin the PIR output is wired to.")
    pir_queue_len: int = Field(1, ge=1, le=100,
                               description="1: edge-triggered (no polling, lowest latency); more: average this many "
                                           "samples first (for a noisy sensor).")
    pir_threshold: float = Field(0.5, gt=0.0, lt=1.0,
                                 description="pir_queue_len > 1: motion when the average of the samples exceeds this.")
    pir_sample_hz: float = Field(10.0, ge=1.0, le=1000.0, description="pir_queue_len > 1: samples per second.")
    lamp_pin: int = Field(18, ge=2, le=27, description="BCM number of the pin driving the IR lamp.")
    lamp_pwm: bool = Field(True, description="Dim the lamp with PWM (false: a plain on/off driver or relay).")
    lamp_pwm_hz: int = Field(1000, ge=100, le=20_000,
                             description="PWM frequency; keep it at 1 kHz or more, or frames show dark bands.")
    lamp_active_high: bool = Field(True, description="The lamp is on when the pin is high (false: active-low board).")


class QueuesSection(Section):
    """Bounded queues between pipeline stages. A full queue never blocks the trigger: it is counted."""

    triggers: int = Field(16, ge=1, le=10_000, description="Triggers waiting for the camera.")
    frames: int = Field(64, ge=1, le=10_000, description="Frames waiting for the classifier.")


class StationConfig(Section):
    """The whole of station.toml."""

    station: StationSection
    hardware: HardwareSection
    camera: CameraSection = Field(default_factory=CameraSection)
    capture: CaptureSection = Field(default_factory=CaptureSection)
    model: ModelSection = Field(default_factory=ModelSection)
    detection: StrictDetectionSection = Field(default_factory=StrictDetectionSection)
    storage: StorageSection = Field(default_factory=StorageSection)
    mqtt: MqttSection = Field(default_factory=MqttSection)
    queues: QueuesSection = Field(default_factory=QueuesSection)
    gpio: GpioSection = Field(default_factory=GpioSection)
    lora: StrictLoRaSection = Field(default_factory=StrictLoRaSection)
    bridge: BridgeSection = Field(default_factory=BridgeSection)
    web: StrictWebSection = Field(default_factory=StrictWebSection)
    alerts: StrictAlertSection = Field(default_factory=StrictAlertSection)
    hotspot: StrictHotspotSection = Field(default_factory=StrictHotspotSection)

    #: Folder of the file the config came from; relative paths in it are resolved against this.
    base_dir: Path = Field(Path("."), exclude=True, strict=False)
    #: The file itself (None when built in code), so remote config_set can persist a change.
    source_path: Path | None = Field(None, exclude=True, strict=False)
    #: Set when the station runs on the last-known-good copy because this file failed (why, for status).
    fallback_reason: str | None = Field(None, exclude=True)

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def card_path(self) -> Path:
        """The classifier's card: [model] classifier (or its old name, card), else the bundled pipeline model."""
        chosen = self.classifier_path
        if chosen is None:
            from station.vision.bundled import bundled_card

            return bundled_card()
        return chosen

    @property
    def classifier_path(self) -> Path | None:
        chosen = self.model.classifier or self.model.card
        return None if chosen is None else self.resolve(chosen)

    @property
    def people_path(self) -> Path | None:
        return None if self.model.people is None else self.resolve(self.model.people)

    @property
    def detector_path(self) -> Path | None:
        """[model] detector; ``"bundled"`` is the detector installed with trapd."""
        if self.model.detector is None:
            return None
        if self.model.detector == Path(BUNDLED):
            from station.vision.bundled import bundled_detector_card

            return bundled_detector_card()
        return self.resolve(self.model.detector)

    @property
    def uses_board(self) -> bool:
        """Whether any role is played by the companion microcontroller."""
        return "bridge" in (self.hardware.trigger, self.hardware.illuminator) or (
            self.lora.enabled and self.lora.modem == "bridge")

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.station.data_dir)

