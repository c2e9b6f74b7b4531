"""The LoRaModem port: what the uplink needs from any LoRaWAN radio, whoever drives it.

Implementations: ``modem.AtModem`` (a RAK3172-style module on a UART), ``bridge_modem.CallableModem``
(a radio behind the companion microcontroller), and the simulated modem in ``modem_sim`` reached
through ``AtModem``. Normal radio outcomes (busy, no ack, duty cycle, not joined) are results, not
exceptions; exceptions mean the modem itself cannot be used (``ModemError`` and its leaves).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Protocol, runtime_checkable


class SendStatus(enum.Enum):
    OK = "ok"  # on air (unconfirmed) or acknowledged by the network (confirmed)
    NO_ACK = "no_ack"  # confirmed uplink sent, no acknowledgement came back
    BUSY = "busy"  # the modem is still busy with the previous transmission or its receive windows
    DUTY_CYCLE = "duty_cycle"  # the modem refused: regional duty cycle exhausted
    NOT_JOINED = "not_joined"  # no network session: join first


@dataclasses.dataclass(frozen=True)
class Downlink:
    """Application data the network sent to the station."""

    port: int
    payload: bytes
    rssi: int | None = None
    snr: int | None = None


@dataclasses.dataclass(frozen=True)
class SendResult:
    status: SendStatus
    downlinks: tuple[Downlink, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is SendStatus.OK


DownlinkHandler = Callable[[Downlink], None]


@runtime_checkable
class LoRaModem(Protocol):
    def join(self, dev_eui: str, app_eui: str, app_key: str, *, timeout: float = 60.0) -> bool:
        """OTAA join with the keys (hex, MSB first). True when joined, False when the network did not
        accept (no join-accept) or the modem was busy."""
        ...

    def send(self, port: int, payload: bytes, *, confirmed: bool = False) -> SendResult:
        """Send one uplink on application ``port`` (1-223) and return its outcome and any downlink."""
        ...

    def data_rate(self) -> int:
        """The data rate index the next uplink will use (it sets the payload limit)."""
        ...

    def close(self) -> None:
        ...
