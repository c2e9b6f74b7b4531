"""The LoRa modem named in ``[lora] modem``, built for the station's LoRa link (``station.lora.link``).

``rui3``: a RAK3172-style module on a UART (``modem.AtModem``); ``bridge``: the radio behind the companion
board (``bridge_modem.CallableModem``); ``simulated``: ``SimulatedRadio``, the AT driver talking to the
simulated module of ``modem_sim`` over a pty. The central server's side of LoRa (ChirpStack's uplink events)
is ``station.central.chirpstack``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from station.config.models import StationConfig
from station.hardware.board import CompanionBoard
from station.lora.ports import DownlinkHandler, LoRaModem, SendResult
from station.lora.settings import LoRaSection

if TYPE_CHECKING:
    from station.lora.modem_sim import SimulatedModem


def build_lora_modem(config: StationConfig, on_downlink: DownlinkHandler, *,
                     board: CompanionBoard | None = None) -> LoRaModem:
    """The LoRa modem named in ``[lora] modem`` (the simulated one answers on a pty like a RAK3172)."""
    from station.lora.modem import AtModem

    settings: LoRaSection = config.lora
    if settings.modem == "simulated":
        from station.lora.modem_sim import SimulatedModem

        simulator = SimulatedModem(region=settings.region)
        return SimulatedRadio(simulator, AtModem.open(simulator.port_name, on_downlink=on_downlink))
    if settings.modem == "rui3":
        return AtModem.open(settings.device, baudrate=settings.baudrate, on_downlink=on_downlink)
    from station.lora.bridge_modem import CallableModem

    assert board is not None  # config validation requires the board for lora.modem = "bridge"
    return CallableModem(board.lora_send, data_rate=0, on_downlink=on_downlink)


class SimulatedRadio:
    """The AT driver talking to the simulated module over its pty; ``simulator`` scripts the radio side."""

    def __init__(self, simulator: SimulatedModem, modem: LoRaModem) -> None:
        self.simulator = simulator
        self._modem = modem

    def join(self, dev_eui: str, app_eui: str, app_key: str, *, timeout: float = 60.0) -> bool:
        return self._modem.join(dev_eui, app_eui, app_key, timeout=timeout)

    def send(self, port: int, payload: bytes, *, confirmed: bool = False) -> SendResult:
        return self._modem.send(port, payload, confirmed=confirmed)

    def data_rate(self) -> int:
        return self._modem.data_rate()

    def close(self) -> None:
        self._modem.close()
        self.simulator.close()
