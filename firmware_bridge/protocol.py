"""Typed messages of the bridge protocol: one small frozen dataclass per message type. Pure, no I/O.

The bytes are defined once, in :mod:`firmware_bridge.wire` (shared with the MicroPython firmware);
this layer adds names and ``encode()``/``decode()`` on top of it, with the enums and range checks of
:mod:`firmware_bridge.fields` for the values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar, TypeVar

from firmware_bridge import wire
from firmware_bridge.errors import MessageFieldError
from firmware_bridge.fields import (
    U8,
    U16,
    U32,
    Capability,
    LoRaTxStatus,
    NackReason,
    ResetCause,
    TamperKind,
    enum_or_int,
    require_int,
    require_payload,
)

PROTOCOL_VERSION = (wire.PROTOCOL_MAJOR, wire.PROTOCOL_MINOR)
MAX_FRAME_LEN = wire.MAX_FRAME_LEN


M = TypeVar("M", bound="Message")


@dataclasses.dataclass(frozen=True)
class Message:
    """Base of every message: ``TYPE`` is the wire type code, ``NAME`` its snake_case name."""

    TYPE: ClassVar[int]
    NAME: ClassVar[str]

    def encode(self) -> bytes:
        """The payload bytes (no header, CRC or framing)."""
        return wire.pack_payload(self.TYPE, self.to_fields())

    @classmethod
    def decode(cls: type[M], payload: bytes) -> M:
        """Build the message from payload bytes; ValueError if their length does not fit."""
        return cls.from_fields(wire.unpack_payload(cls.TYPE, payload))

    def to_fields(self) -> tuple:
        """The values in wire.LAYOUTS order (what ``wire.pack_payload`` takes)."""
        return tuple(getattr(self, field.name) for field in dataclasses.fields(self))

    @classmethod
    def from_fields(cls: type[M], values: tuple) -> M:
        """The message from values in wire.LAYOUTS order (what ``wire.unpack_payload`` returns)."""
        return cls(*values)


@dataclasses.dataclass(frozen=True)
class Command(Message):
    """A host-to-board message the board answers with an ACK or a NACK."""


@dataclasses.dataclass(frozen=True)
class Hello(Message):
    """Handshake. The host sends one at start; the board replies with ``reply=True``. A board
    hello without ``reply`` asks the host to handshake (after the board booted or lost the host)."""

    TYPE: ClassVar[int] = wire.HELLO
    NAME: ClassVar[str] = "hello"
    protocol_major: int
    protocol_minor: int
    firmware_version: tuple[int, int, int]
    board_id: bytes
    capabilities: Capability
    boot_id: int
    reply: bool = False

    def __post_init__(self) -> None:
        for name in ("protocol_major", "protocol_minor"):
            require_int(self, name, U8)
        require_int(self, "capabilities", U16)
        object.__setattr__(self, "capabilities", Capability(self.capabilities))  # accept a plain int too
        require_int(self, "boot_id", U32)
        version = self.firmware_version
        if len(version) != 3 or not all(isinstance(part, int) and 0 <= part <= 255 for part in version):
            raise MessageFieldError(f"Hello.firmware_version = {version!r}: must be 3 integers in 0..255")
        if not isinstance(self.board_id, bytes) or len(self.board_id) != 8:
            raise MessageFieldError(f"Hello.board_id = {self.board_id!r}: must be 8 bytes")

    def to_fields(self) -> tuple:
        flags = wire.HELLO_REPLY if self.reply else 0
        return (self.protocol_major, self.protocol_minor, *self.firmware_version, flags,
                int(self.capabilities), self.boot_id, self.board_id)

    @classmethod
    def from_fields(cls, values: tuple) -> Hello:
        major, minor, fw_major, fw_minor, fw_patch, flags, capabilities, boot_id, board_id = values
        return cls(major, minor, (fw_major, fw_minor, fw_patch), board_id,
                   Capability(capabilities), boot_id, bool(flags & wire.HELLO_REPLY))  # unknown bits kept


@dataclasses.dataclass(frozen=True)
class Ack(Message):
    """The frame with sequence number ``seq`` was received and carried out."""

    TYPE: ClassVar[int] = wire.ACK
    NAME: ClassVar[str] = "ack"
    seq: int

    def __post_init__(self) -> None:
        require_int(self, "seq", U16)


@dataclasses.dataclass(frozen=True)
class Nack(Message):
    """The frame with sequence number ``seq`` was received and refused, for ``reason``."""

    TYPE: ClassVar[int] = wire.NACK
    NAME: ClassVar[str] = "nack"
    seq: int
    reason: NackReason | int

    def __post_init__(self) -> None:
        require_int(self, "seq", U16)
        require_int(self, "reason", U8)

    @classmethod
    def from_fields(cls, values: tuple) -> Nack:
        return cls(values[0], enum_or_int(NackReason, values[1]))


@dataclasses.dataclass(frozen=True)
class Pir(Message):
    """A PIR sensor saw motion. ``mcu_ms`` is the board's uptime then (wraps after 49.7 days)."""

    TYPE: ClassVar[int] = wire.PIR
    NAME: ClassVar[str] = "pir"
    sensor: int
    mcu_ms: int

    def __post_init__(self) -> None:
        require_int(self, "sensor", U8)
        require_int(self, "mcu_ms", U32)


@dataclasses.dataclass(frozen=True)
class Telemetry(Message):
    """Periodic health report. ``rtc_unix`` is 0 while the board's clock has not been set."""

    TYPE: ClassVar[int] = wire.TELEMETRY
    NAME: ClassVar[str] = "telemetry"
    battery_mv: int
    solar_mv: int
    temperature_cc: int  # centi-degrees Celsius: 2150 is 21.50 degC
    lux: int
    rtc_unix: int
    reset_cause: ResetCause | int

    def __post_init__(self) -> None:
        for name in ("battery_mv", "solar_mv"):
            require_int(self, name, U16)
        require_int(self, "temperature_cc", (-0x8000, 0x7FFF))
        for name in ("lux", "rtc_unix"):
            require_int(self, name, U32)
        require_int(self, "reset_cause", U8)

    @property
    def temperature_c(self) -> float:
        return self.temperature_cc / 100

    @classmethod
    def from_fields(cls, values: tuple) -> Telemetry:
        battery_mv, solar_mv, temperature_cc, lux, rtc_unix, reset_cause = values
        return cls(battery_mv, solar_mv, temperature_cc, lux, rtc_unix, enum_or_int(ResetCause, reset_cause))


@dataclasses.dataclass(frozen=True)
class Tamper(Message):
    """The enclosure was opened (detail 1) or closed (0), or the unit moved (detail: pulses)."""

    TYPE: ClassVar[int] = wire.TAMPER
    NAME: ClassVar[str] = "tamper"
    kind: TamperKind | int
    detail: int = 0

    def __post_init__(self) -> None:
        require_int(self, "kind", U8)
        require_int(self, "detail", U16)

    @classmethod
    def from_fields(cls, values: tuple) -> Tamper:
        return cls(enum_or_int(TamperKind, values[0]), values[1])


@dataclasses.dataclass(frozen=True)
class LoRaTxDone(Message):
    """The LoRa uplink sent by the LORA_SEND with sequence number ``send_seq`` has finished."""

    TYPE: ClassVar[int] = wire.LORA_TX_DONE
    NAME: ClassVar[str] = "lora_tx_done"
    send_seq: int
    status: LoRaTxStatus | int

    def __post_init__(self) -> None:
        require_int(self, "send_seq", U16)
        require_int(self, "status", U8)

    @classmethod
    def from_fields(cls, values: tuple) -> LoRaTxDone:
        return cls(values[0], enum_or_int(LoRaTxStatus, values[1]))


@dataclasses.dataclass(frozen=True)
class LoRaRx(Message):
    """A LoRaWAN downlink the board's radio received, with its signal quality."""

    TYPE: ClassVar[int] = wire.LORA_RX
    NAME: ClassVar[str] = "lora_rx"
    port: int
    payload: bytes
    rssi_dbm: int = 0
    snr_quarter_db: int = 0  # SNR in steps of 0.25 dB, as SX127x/SX126x radios report it

    def __post_init__(self) -> None:
        require_int(self, "port", U8)
        require_int(self, "rssi_dbm", (-0x8000, 0x7FFF))
        require_int(self, "snr_quarter_db", (-0x80, 0x7F))
        require_payload(self, "payload")

    @property
    def snr_db(self) -> float:
        return self.snr_quarter_db / 4

    def to_fields(self) -> tuple:
        return (self.port, self.rssi_dbm, self.snr_quarter_db, self.payload)

    @classmethod
    def from_fields(cls, values: tuple) -> LoRaRx:
        port, rssi_dbm, snr_quarter_db, payload = values
        return cls(port, payload, rssi_dbm, snr_quarter_db)


@dataclasses.dataclass(frozen=True)
class IrLamp(Command):
    """Set the IR illuminator: 0 off, 255 full brightness (PWM duty)."""

    TYPE: ClassVar[int] = wire.IR_LAMP
    NAME: ClassVar[str] = "ir_lamp"
    level: int

    def __post_init__(self) -> None:
        require_int(self, "level", U8)


@dataclasses.dataclass(frozen=True)
class WatchdogKick(Command):
    """The Pi is healthy: restart the board's power-cycle countdown."""

    TYPE: ClassVar[int] = wire.WATCHDOG_KICK
    NAME: ClassVar[str] = "watchdog_kick"


@dataclasses.dataclass(frozen=True)
class WatchdogConfig(Command):
    """Power-cycle the Pi if no kick arrives within ``timeout_s`` (0 disables; else >= 10)."""

    TYPE: ClassVar[int] = wire.WATCHDOG_CONFIG
    NAME: ClassVar[str] = "watchdog_config"
    timeout_s: int

    def __post_init__(self) -> None:
        require_int(self, "timeout_s", U16)


@dataclasses.dataclass(frozen=True)
class SetTime(Command):
    """Set the board's real-time clock (unix seconds, UTC)."""

    TYPE: ClassVar[int] = wire.SET_TIME
    NAME: ClassVar[str] = "set_time"
    unix: int

    def __post_init__(self) -> None:
        require_int(self, "unix", U32)


@dataclasses.dataclass(frozen=True)
class SleepUntil(Command):
    """Cut the Pi's power after a grace period; restore it at ``unix`` (0: only) or on the next PIR."""

    TYPE: ClassVar[int] = wire.SLEEP_UNTIL
    NAME: ClassVar[str] = "sleep_until"
    unix: int

    def __post_init__(self) -> None:
        require_int(self, "unix", U32)


@dataclasses.dataclass(frozen=True)
class LoRaSend(Command):
    """Send ``payload`` as a LoRaWAN uplink on ``port``; a LORA_TX_DONE follows when it is done."""

    TYPE: ClassVar[int] = wire.LORA_SEND
    NAME: ClassVar[str] = "lora_send"
    port: int
    payload: bytes
    confirmed: bool = False

    def __post_init__(self) -> None:
        require_int(self, "port", (1, 223))  # LoRaWAN application ports
        require_payload(self, "payload")

    def to_fields(self) -> tuple:
        return (self.port, int(self.confirmed), self.payload)

    @classmethod
    def from_fields(cls, values: tuple) -> LoRaSend:
        return cls(values[0], values[2], bool(values[1]))


MESSAGE_TYPES: Mapping[int, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        *(Hello, Ack, Nack, Pir, Telemetry, Tamper, LoRaTxDone, LoRaRx),
        *(IrLamp, WatchdogKick, WatchdogConfig, SetTime, SleepUntil, LoRaSend),
    )
}


@dataclasses.dataclass(frozen=True)
class SerialFrame:
    """A decoded frame: its sender's sequence number and the message it carried."""

    seq: int
    message: Message


def encode_frame(message: Message, seq: int) -> bytes:
    """The complete frame (delimiters included) carrying ``message`` with sequence number ``seq``."""
    if not 0 <= seq < wire.SEQ_MODULO:
        raise MessageFieldError(f"sequence number {seq} outside 0..{wire.SEQ_MODULO - 1}")
    return wire.encode_frame(message.TYPE, seq, message.encode())


def decode_message(msg_type: int, payload: bytes) -> Message:
    """The typed message for a CRC-checked payload. KeyError for an unknown type, ValueError for a
    payload whose length or values do not fit the type."""
    return MESSAGE_TYPES[msg_type].decode(payload)


def type_name(msg_type: int) -> str:
    cls = MESSAGE_TYPES.get(msg_type)
    return cls.NAME if cls else f"type_0x{msg_type:02x}"
