"""The values a bridge-protocol field may take: the enums of coded fields and the range checks every
message field passes. Pure, no I/O; the numbers themselves are defined in :mod:`firmware_bridge.wire`.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from firmware_bridge import wire
from firmware_bridge.errors import MessageFieldError


class Capability(enum.IntFlag):
    PIR = wire.CAP_PIR
    TELEMETRY = wire.CAP_TELEMETRY
    IR_LAMP = wire.CAP_IR_LAMP
    WATCHDOG = wire.CAP_WATCHDOG
    RTC = wire.CAP_RTC
    SLEEP = wire.CAP_SLEEP
    LORA = wire.CAP_LORA
    TAMPER = wire.CAP_TAMPER


class NackReason(enum.IntEnum):
    UNKNOWN_TYPE = wire.NACK_UNKNOWN_TYPE
    BAD_PAYLOAD = wire.NACK_BAD_PAYLOAD
    OUT_OF_RANGE = wire.NACK_OUT_OF_RANGE
    UNSUPPORTED = wire.NACK_UNSUPPORTED
    BUSY = wire.NACK_BUSY
    NOT_READY = wire.NACK_NOT_READY


class ResetCause(enum.IntEnum):
    UNKNOWN = wire.RESET_UNKNOWN
    POWER_ON = wire.RESET_POWER_ON
    WATCHDOG = wire.RESET_WATCHDOG
    HARD = wire.RESET_HARD
    SOFT = wire.RESET_SOFT
    DEEPSLEEP = wire.RESET_DEEPSLEEP


class TamperKind(enum.IntEnum):
    ENCLOSURE_OPEN = wire.TAMPER_ENCLOSURE_OPEN
    MOVED = wire.TAMPER_MOVED


class LoRaTxStatus(enum.IntEnum):
    SENT = wire.TX_SENT
    CONFIRMED = wire.TX_CONFIRMED
    NO_ACK = wire.TX_NO_ACK
    DUTY_CYCLE = wire.TX_DUTY_CYCLE
    NOT_JOINED = wire.TX_NOT_JOINED
    ERROR = wire.TX_ERROR


E = TypeVar("E", bound=enum.IntEnum)

U8, U16, U32 = (0, 0xFF), (0, 0xFFFF), (0, 0xFFFF_FFFF)


def require_int(message: object, name: str, bounds: tuple[int, int]) -> None:
    """MessageFieldError unless ``message.<name>`` is an integer (not a bool) within ``bounds``."""
    value = getattr(message, name)
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MessageFieldError(
            f"{type(message).__name__}.{name} = {value!r}: must be an integer in {low}..{high}"
        )


def require_payload(message: object, name: str) -> None:
    """MessageFieldError unless ``message.<name>`` is bytes that fit a LoRa payload."""
    value = getattr(message, name)
    if not isinstance(value, bytes) or len(value) > wire.LORA_MAX_PAYLOAD:
        shown = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise MessageFieldError(
            f"{type(message).__name__}.{name}: must be bytes, at most {wire.LORA_MAX_PAYLOAD}; got {shown}"
        )


def enum_or_int(enum_type: type[E], value: int) -> E | int:
    """Newer firmware may send enum values this host does not know: keep them as plain ints."""
    try:
        return enum_type(value)
    except ValueError:
        return value
