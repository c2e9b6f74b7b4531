"""The ``[lora]`` section of station.toml, and the objects built from it.

Region and module variant both come from here, and must agree (a RU864 site needs the high-frequency
module, a CN470 site the low-frequency one); the duty cycle may be made stricter than the region's, never
looser. Meant to be plugged into ``StationConfig`` as ``lora: LoRaSection``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from station.lora.budget import DutyCycleBudget
from station.lora.errors import LoRaConfigError
from station.lora.regions import check_module_variant, region

_HEX8 = r"^[0-9A-Fa-f]{16}$"
_HEX16 = r"^[0-9A-Fa-f]{32}$"


class LoRaSection(BaseModel):
    """LoRaWAN uplink: region, radio module and keys."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(False, description="Send LoRaWAN uplinks.")
    region: Literal["RU864", "CN470"] = Field("RU864", description="RU864 (Russia) or CN470 (China).")
    module_variant: Literal["high", "low"] = Field(
        "high", description="Radio module band: high (e.g. RAK3172-H, RU864) or low (RAK3172-L, CN470).")
    modem: Literal["simulated", "rui3", "bridge"] = Field(
        "simulated", description="simulated (pty), rui3 (RAK3172 on a UART) or bridge (companion MCU).")
    device: str = Field("/dev/ttyAMA0", min_length=1, description="modem = rui3: serial device of the module.")
    baudrate: int = Field(115200, ge=1200, le=921600, description="modem = rui3: UART speed.")
    dev_eui: str = Field("0000000000000000", pattern=_HEX8, description="DevEUI, 16 hex digits, MSB first.")
    app_eui: str = Field("0000000000000000", pattern=_HEX8, description="AppEUI/JoinEUI, 16 hex digits.")
    app_key: str = Field("0" * 32, pattern=_HEX16, description="AppKey, 32 hex digits (keep this file private).")
    port: int = Field(10, ge=1, le=223, description="fPort of uplinks (the network-server codec expects 10).")
    confirmed: bool = Field(False, description="Ask the network to acknowledge each uplink (costs airtime).")
    max_priority: int = Field(0, ge=0, le=2, description="Summarise detections up to this priority over LoRa "
                                                         "(0: people and big cats; 1: all animals; 2: also blanks).")
    mqtt_grace_s: float = Field(300.0, ge=0.0, le=86_400.0,
                                description="Use LoRa only after MQTT has been down this long (seconds).")
    status_interval_s: float = Field(3600.0, ge=60.0, le=86_400.0,
                                     description="Status frame every this many seconds while MQTT is down.")
    duty_cycle_percent: float | None = Field(
        None, gt=0.0, le=100.0, description="Stricter duty cycle than the region's, in percent (empty: region's).")
    hourly_airtime_s: float | None = Field(
        None, gt=0.0, le=3600.0, description="Airtime budget per hour where the region has no duty cycle "
                                              "(CN470; empty: 36 s).")

    @model_validator(mode="after")
    def _consistent(self) -> LoRaSection:
        try:
            check_module_variant(region(self.region), self.module_variant)
            self.budget(clock=lambda: 0.0)  # the duty-cycle settings must be legal for the region
        except LoRaConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def budget(self, *, clock: Callable[[], float] = time.time) -> DutyCycleBudget:
        """The airtime budget these settings allow."""
        duty = None if self.duty_cycle_percent is None else self.duty_cycle_percent / 100.0
        return DutyCycleBudget(self.region, duty_cycle=duty, hourly_airtime_s=self.hourly_airtime_s, clock=clock)
