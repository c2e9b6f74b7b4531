"""``LoRaModem`` over a plain callable: for a board whose LoRa radio sits on the companion microcontroller.

The bridge's ``lora_send(port, payload, confirmed)`` (or any callable of that shape) does the sending; the
microcontroller's firmware handles the join. Downlinks the bridge receives are handed in with
``deliver_downlink`` and come out of the next ``send`` result and the ``on_downlink`` callback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from station.lora.errors import LoRaConfigError, ModemError
from station.lora.ports import Downlink, DownlinkHandler, SendResult, SendStatus

log = logging.getLogger(__name__)

SendFunction = Callable[[int, bytes, bool], object]
JoinFunction = Callable[[str, str, str, float], bool]


def _as_result(outcome: object, confirmed: bool) -> SendResult:
    """Accept what a bridge is likely to return: a SendResult, a SendStatus or its value, None (sent),
    or a bool (True delivered, False not acknowledged)."""
    if isinstance(outcome, SendResult):
        return outcome
    if isinstance(outcome, SendStatus):
        return SendResult(outcome)
    if outcome is None or outcome is True:
        return SendResult(SendStatus.OK)
    if outcome is False:
        return SendResult(SendStatus.NO_ACK)
    if isinstance(outcome, str):
        try:
            return SendResult(SendStatus(outcome))
        except ValueError:
            pass
    raise ModemError(f"the LoRa send function returned {outcome!r}, not a send outcome")


class CallableModem:
    def __init__(self, send: SendFunction, *, data_rate: int | Callable[[], int],
                 join: JoinFunction | None = None, on_downlink: DownlinkHandler | None = None) -> None:
        self._send = send
        self._data_rate = data_rate
        self._join = join
        self._on_downlink = on_downlink
        self._pending: list[Downlink] = []
        self._lock = threading.Lock()

    def join(self, dev_eui: str, app_eui: str, app_key: str, *, timeout: float = 60.0) -> bool:
        if self._join is None:
            return True  # the microcontroller joins by itself
        return bool(self._join(dev_eui, app_eui, app_key, timeout))

    def send(self, port: int, payload: bytes, *, confirmed: bool = False) -> SendResult:
        if not 1 <= port <= 223:
            raise LoRaConfigError(f"LoRaWAN application port {port} outside 1-223")
        result = _as_result(self._send(port, bytes(payload), confirmed), confirmed)
        with self._lock:
            pending, self._pending = self._pending, []
        return SendResult(result.status, (*pending, *result.downlinks))

    def deliver_downlink(self, downlink: Downlink) -> None:
        """Hand in a downlink the bridge received; it is returned by the next ``send`` too."""
        with self._lock:
            self._pending.append(downlink)
        if self._on_downlink is not None:
            try:
                self._on_downlink(downlink)
            except Exception:
                log.exception("downlink handler failed")

    def data_rate(self) -> int:
        return self._data_rate() if callable(self._data_rate) else self._data_rate

    def close(self) -> None:
        """Nothing to release: the bridge owns the radio."""
