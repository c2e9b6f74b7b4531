"""The companion microcontroller as the station sees it: PIR trigger source, IR lamp, telemetry, watchdog
and real-time clock, all over one ``firmware_bridge.Bridge``.

One ``CompanionBoard`` serves as the ``TriggerSource`` (``hardware.trigger = "bridge"``) and the
``Illuminator`` (``hardware.illuminator = "bridge"``). ``bridge.port = "simulated"`` starts the project's
simulated board (the reference firmware's logic under CPython) on a pty, explicitly, for demos and tests.

Bridge callbacks run on the bridge's reader thread, which must never wait for an acknowledgement, so
they only record and hand over; commands (lamp, watchdog kicks, time) are sent from the station's threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import BridgeError
from firmware_bridge.fields import LoRaTxStatus
from firmware_bridge.protocol import IrLamp, Pir, Tamper, Telemetry, WatchdogConfig, WatchdogKick
from station.config.models import BridgeSection
from station.errors import HardwareError
from station.hardware.ports import TriggerCallback
from station.lora.ports import SendStatus
from station.types import Trigger
from station.wire.ids import utc_now

if TYPE_CHECKING:
    from firmware_bridge.simulator import Simulator  # imported by open(), for port = "simulated" only

log = logging.getLogger(__name__)

_TX_STATUS = {"SENT": SendStatus.OK, "CONFIRMED": SendStatus.OK, "NO_ACK": SendStatus.NO_ACK,
              "DUTY_CYCLE": SendStatus.DUTY_CYCLE, "NOT_JOINED": SendStatus.NOT_JOINED, "BUSY": SendStatus.BUSY}


class CompanionBoard:
    def __init__(self, settings: BridgeSection, *, night_lux: float,
                 on_telemetry: Callable[[dict], None] = lambda reading: None,
                 on_tamper: Callable[[str], None] = lambda detail: None) -> None:
        self._settings = settings
        self._night_lux = night_lux
        self._on_telemetry = on_telemetry
        self._on_tamper = on_tamper
        self._on_trigger: TriggerCallback | None = None
        self._lock = threading.Lock()
        self.simulator: Simulator | None = None
        self.latest: dict = {}
        self.bridge: Bridge | None = None

    # -- life cycle (the app opens the board once, whatever roles it plays) ------------------------------------
    def open(self) -> None:
        port = self._settings.port
        if port == "simulated":
            from firmware_bridge.simulator import Simulator

            self.simulator = Simulator(telemetry_period_s=self._settings.simulated_telemetry_s, boot_watchdog_s=0)
            port = self.simulator.start()
        self.bridge = Bridge(port, baudrate=self._settings.baudrate, on_pir=self._pir,
                             on_telemetry=self._telemetry, on_tamper=self._tamper)
        try:
            hello = self.bridge.start()
            self.bridge.send_command(WatchdogConfig(timeout_s=self._settings.watchdog_timeout_s))
        except (BridgeError, OSError) as exc:
            self.close()
            raise HardwareError(f"companion board on {self._settings.port}: {exc}; check the UART wiring and "
                                "`trapd bridge monitor --port ...`") from exc
        log.info("companion board %s, firmware %s", hello.board_id.hex(), ".".join(map(str, hello.firmware_version)))

    def close(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
        if self.simulator is not None:
            self.simulator.stop()

    def _started_bridge(self) -> Bridge:
        if self.bridge is None:
            raise HardwareError("companion board used before open()")
        return self.bridge

    # -- TriggerSource ---------------------------------------------------------------------------------------
    def start(self, on_trigger: TriggerCallback) -> None:
        with self._lock:
            self._on_trigger = on_trigger

    def stop(self) -> None:
        with self._lock:
            self._on_trigger = None

    # -- Illuminator ---------------------------------------------------------------------------------------
    def set_level(self, level: float) -> None:
        try:
            self._started_bridge().send_command(IrLamp(level=round(max(0.0, min(1.0, level)) * 255)))
        except BridgeError as exc:
            log.error("IR lamp command failed: %s", exc)

    # -- watchdog ----------------------------------------------------------------------------------------------
    def kick_watchdog(self) -> bool:
        try:
            self._started_bridge().send_command(WatchdogKick())
        except BridgeError as exc:
            log.error("watchdog kick not acknowledged: %s", exc)
            return False
        return True

    # -- LoRa radio on the board (behind station.lora.bridge_modem.CallableModem) --------------------------------
    def lora_send(self, port: int, payload: bytes, confirmed: bool) -> SendStatus:
        try:
            done = self._started_bridge().lora_send(port, payload, confirmed)
        except BridgeError as exc:
            log.error("LoRa send through the board failed: %s", exc)
            return SendStatus.BUSY
        return _TX_STATUS.get(LoRaTxStatus(done.status).name, SendStatus.BUSY)

    def is_night(self) -> bool:
        lux = self.latest.get("lux")
        return lux is not None and lux < self._night_lux

    # -- bridge callbacks (reader thread: record and hand over only) ----------------------------------------------
    def _pir(self, message: Pir) -> None:
        with self._lock:
            callback = self._on_trigger
        if callback is not None:
            callback(Trigger(source="pir", at=utc_now(), sensor=message.sensor, night=self.is_night()))

    def _telemetry(self, message: Telemetry) -> None:
        reading = {"battery_mv": message.battery_mv, "solar_mv": message.solar_mv,
                   "temperature_c": message.temperature_cc / 100, "lux": message.lux,
                   "rtc_unix": message.rtc_unix, "reset_cause": int(message.reset_cause),
                   "received_unix": time.time()}
        self.latest = reading
        self._on_telemetry(reading)

    def _tamper(self, message: Tamper) -> None:
        self._on_tamper(f"{message}")
