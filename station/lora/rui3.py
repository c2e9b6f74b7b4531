"""The RAK RUI3 AT-command dialect (RAK3172 and other RUI3 modules): command text and line parsing.

Pure and I/O-free, so the parser can be fuzzed apart from the reader thread. Sources: RAKwireless
"RUI3 AT Command Manual" (docs.rakwireless.com, RAKWireless/rakwireless-docs
``docs/RUI3/Serial-Operating-Modes/AT-Command-Manual``) and its release note v3.2.0, which removed spaces
from event names (``+EVT:SEND CONFIRMED OK`` became ``+EVT:SEND_CONFIRMED_OK``). Both spellings are
accepted, as is the manual's old misspelling ``AT_DUTYCYLE_RESTRICTED``.

    AT+NJM=1 / AT+DEVEUI=<16 hex> / AT+APPEUI=<16 hex> / AT+APPKEY=<32 hex>     -> OK | AT_PARAM_ERROR
    AT+JOIN=1:0:<interval s>:<attempts>  -> OK, later +EVT:JOINED | +EVT:JOIN_FAILED_RX_TIMEOUT
    AT+CFM=<0|1>                          -> OK
    AT+SEND=<port>:<hex>                  -> OK | AT_BUSY_ERROR | AT_NO_NETWORK_JOINED |
                                             AT_DUTYCYCLE_RESTRICTED | AT_PARAM_ERROR
        then +EVT:TX_DONE (unconfirmed) or +EVT:SEND_CONFIRMED_OK | +EVT:SEND_CONFIRMED_FAILED(4),
        and for a downlink +EVT:RX_1:<rssi>:<snr>:UNICAST:<port>:<hex>
    AT+DR=?  -> AT+DR=<n> then OK;  AT+NJS=? -> AT+NJS=<0|1> then OK;  AT+BAND=<n> (1 CN470, 2 RU864)
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence

from station.lora.errors import LoRaConfigError, ModemError
from station.lora.ports import Downlink, SendStatus

OK = "OK"
ERROR_STATUSES = frozenset({
    "AT_ERROR", "AT_PARAM_ERROR", "AT_BUSY_ERROR", "AT_TEST_PARAM_OVERFLOW", "AT_NO_NETWORK_JOINED",
    "AT_RX_ERROR", "AT_DUTYCYCLE_RESTRICTED", "AT_DUTYCYLE_RESTRICTED", "AT_CRYPTO_ERROR",
    "AT_NO_CLASSB_ENABLE", "AT_NO_CLASS_B_ENABLE",
})
#: Send refusals that are ordinary radio outcomes, not faults.
SEND_REFUSALS = {
    "AT_BUSY_ERROR": SendStatus.BUSY,
    "AT_NO_NETWORK_JOINED": SendStatus.NOT_JOINED,
    "AT_DUTYCYCLE_RESTRICTED": SendStatus.DUTY_CYCLE,
    "AT_DUTYCYLE_RESTRICTED": SendStatus.DUTY_CYCLE,
}
_RX = re.compile(r"^\+EVT:RX_(?:1|2|B|C):(-?\d+):(-?\d+):(?:UNICAST|MULCAST[^:]*):(\d+):([0-9A-Fa-f]*)$")
_HEX = re.compile(r"^[0-9A-Fa-f]*$")


class EventKind(enum.Enum):
    JOINED = "joined"
    JOIN_FAILED = "join_failed"
    TX_DONE = "tx_done"
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    DOWNLINK = "downlink"
    OTHER = "other"


@dataclasses.dataclass(frozen=True)
class Event:
    kind: EventKind
    line: str
    downlink: Downlink | None = None


def status_of(line: str) -> str | None:
    """The status a line ends a command with (``OK`` or an ``AT_*`` error), or None."""
    text = line.strip()
    return text if text == OK or text in ERROR_STATUSES else None


def parse_event(line: str) -> Event | None:
    """An asynchronous ``+EVT:`` line as an Event; None for any other line. Never raises."""
    text = line.strip()
    if not text.startswith("+EVT:"):
        return None
    name = text[5:].replace(" ", "_").upper()
    if name == "JOINED":
        return Event(EventKind.JOINED, text)
    if name.startswith("JOIN_FAILED"):
        return Event(EventKind.JOIN_FAILED, text)
    if name == "TX_DONE":
        return Event(EventKind.TX_DONE, text)
    if name.startswith("SEND_CONFIRMED_OK"):
        return Event(EventKind.CONFIRMED, text)
    if name.startswith("SEND_CONFIRMED_FAILED"):
        return Event(EventKind.NOT_CONFIRMED, text)
    match = _RX.match(text)
    if match and len(match.group(4)) % 2 == 0:
        rssi, snr, port, data = match.groups()
        return Event(EventKind.DOWNLINK, text, Downlink(int(port), bytes.fromhex(data), int(rssi), int(snr)))
    return Event(EventKind.OTHER, text)


def parse_value(key: str, lines: Sequence[str]) -> str:
    """The value a ``AT+<key>=?`` query returned: ``AT+<key>=<v>`` (RUI3 3.x+) or a bare ``<v>``."""
    prefix = f"AT+{key}="
    for line in lines:
        text = line.strip()
        if text.upper().startswith(prefix):
            return text[len(prefix):]
    values = [line.strip() for line in lines if line.strip()]
    if not values:
        raise ModemError(f"the modem gave no value for AT+{key}=?")
    return values[-1]


def _hex_id(value: str, size: int, what: str) -> str:
    text = value.replace(":", "").replace("-", "").strip()
    if len(text) != 2 * size or not _HEX.match(text):
        raise LoRaConfigError(f"{what} must be {size} bytes as {2 * size} hex digits, got {value!r}")
    return text.upper()


class Rui3Dialect:
    """Command text for RUI3 modules. Another AT dialect (e.g. Seeed LoRa-E5) supplies the same methods."""

    name = "rui3"

    def status_of(self, line: str) -> str | None:
        return status_of(line)

    def parse_event(self, line: str) -> Event | None:
        return parse_event(line)

    def parse_value(self, key: str, lines: Sequence[str]) -> str:
        return parse_value(key, lines)

    def send_refusal(self, status: str) -> SendStatus | None:
        return SEND_REFUSALS.get(status)

    def join_setup(self, dev_eui: str, app_eui: str, app_key: str) -> list[str]:
        """Commands that put the module in OTAA mode with these keys (LoRaConfigError if malformed)."""
        return ["AT+NJM=1", f"AT+DEVEUI={_hex_id(dev_eui, 8, 'DevEUI')}",
                f"AT+APPEUI={_hex_id(app_eui, 8, 'AppEUI/JoinEUI')}", f"AT+APPKEY={_hex_id(app_key, 16, 'AppKey')}"]

    def join_command(self, *, attempts: int = 1, interval_s: int = 10) -> str:
        return f"AT+JOIN=1:0:{interval_s}:{attempts}"

    def confirm_command(self, confirmed: bool) -> str:
        return f"AT+CFM={int(confirmed)}"

    def send_command(self, port: int, payload: bytes) -> str:
        return f"AT+SEND={port}:{payload.hex().upper()}"

    def query(self, key: str) -> str:
        return f"AT+{key}=?"

    def set_command(self, key: str, value: object) -> str:
        return f"AT+{key}={value}"

    def send_done(self, event: Event, confirmed: bool) -> SendStatus | None:
        """The outcome an event gives a pending send, or None if it is not the end of that send."""
        if confirmed:
            if event.kind is EventKind.CONFIRMED:
                return SendStatus.OK
            if event.kind is EventKind.NOT_CONFIRMED:
                return SendStatus.NO_ACK
            return None
        return SendStatus.OK if event.kind is EventKind.TX_DONE else None
