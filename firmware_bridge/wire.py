"""The bridge protocol's single definition: constants, COBS, CRC-16 and payload layouts.

This module is imported by the host (``firmware_bridge.protocol`` builds typed messages on it) *and*
copied as is onto the microcontroller, where MicroPython runs it. So it uses only ``struct`` and
builtins: no dataclasses, enums, typing or f-strings, and annotations name builtin types only.
Errors are plain ``ValueError``s; the host layer turns them into its own exceptions.

Frame on the wire (see docs/bridge-protocol.md for every byte)::

    0x00 | COBS( type:u8 | seq:u16 LE | payload | crc:u16 BE ) | 0x00

The leading delimiter ends whatever garbage came before, so a frame after line noise still decodes.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython: const() is MicroPython's compile-time constant marker

    def const(value):
        return value


PROTOCOL_MAJOR = const(1)  # a different major cannot talk: the handshake refuses it
PROTOCOL_MINOR = const(0)  # minor bumps only add message types or enum values

DELIMITER = b"\x00"
HEADER_LEN = const(3)  # type u8 + seq u16
CRC_LEN = const(2)
MAX_FRAME_LEN = const(256)  # decoded bytes: header + payload + CRC
MAX_PAYLOAD_LEN = const(251)  # MAX_FRAME_LEN - HEADER_LEN - CRC_LEN
# COBS adds one byte per started block of 254 bytes; the delimiters are not counted.
MAX_ENCODED_LEN = const(258)  # MAX_FRAME_LEN + 2
SEQ_MODULO = const(65536)
LORA_MAX_PAYLOAD = const(222)  # LoRaWAN's largest application payload (RU864/CN470, fastest DR)

# Message types. Handshake and acknowledgements: 0x0_, board events: 0x1_, host commands: 0x2_.
HELLO = const(0x01)
ACK = const(0x02)
NACK = const(0x03)
PIR = const(0x10)
TELEMETRY = const(0x11)
TAMPER = const(0x12)
LORA_TX_DONE = const(0x13)
LORA_RX = const(0x14)
IR_LAMP = const(0x20)
WATCHDOG_KICK = const(0x21)
WATCHDOG_CONFIG = const(0x22)
SET_TIME = const(0x23)
SLEEP_UNTIL = const(0x24)
LORA_SEND = const(0x25)

# Board events the host must acknowledge; the board re-sends them until it does.
ACKED_EVENTS = (PIR, TAMPER, LORA_TX_DONE, LORA_RX)


def is_command(msg_type: int) -> bool:
    """Host-to-board commands, each answered by an ACK or a NACK."""
    return 0x20 <= msg_type <= 0x2F


# HELLO flags
HELLO_REPLY = const(0x01)  # this hello answers the peer's hello (otherwise: "please handshake")

# Capability bits a board announces in its HELLO.
CAP_PIR = const(0x0001)
CAP_TELEMETRY = const(0x0002)
CAP_IR_LAMP = const(0x0004)
CAP_WATCHDOG = const(0x0008)
CAP_RTC = const(0x0010)
CAP_SLEEP = const(0x0020)
CAP_LORA = const(0x0040)
CAP_TAMPER = const(0x0080)

# NACK reasons
NACK_UNKNOWN_TYPE = const(1)  # the receiver does not know this message type (older firmware)
NACK_BAD_PAYLOAD = const(2)  # payload length does not match the type's layout
NACK_OUT_OF_RANGE = const(3)  # a field is outside what the receiver accepts
NACK_UNSUPPORTED = const(4)  # the board lacks the hardware (capability bit clear)
NACK_BUSY = const(5)  # try again later (e.g. a LoRa transmission is under way)
NACK_NOT_READY = const(6)  # a precondition is missing (e.g. sleep_until before set_time)

# Reset causes reported in TELEMETRY
RESET_UNKNOWN = const(0)
RESET_POWER_ON = const(1)
RESET_WATCHDOG = const(2)
RESET_HARD = const(3)
RESET_SOFT = const(4)
RESET_DEEPSLEEP = const(5)

# TAMPER kinds
TAMPER_ENCLOSURE_OPEN = const(1)  # detail: 1 opened, 0 closed again
TAMPER_MOVED = const(2)  # detail: motion pulses counted since the last report

# LORA_TX_DONE status
TX_SENT = const(0)  # unconfirmed uplink left the radio
TX_CONFIRMED = const(1)  # confirmed uplink, network acknowledged
TX_NO_ACK = const(2)  # confirmed uplink, no acknowledgement
TX_DUTY_CYCLE = const(3)  # refused: regional duty-cycle budget used up
TX_NOT_JOINED = const(4)  # no network session yet
TX_ERROR = const(5)

# Payload layouts, little-endian. LORA_SEND and LORA_RX end with variable-length data.
LAYOUTS = {
    HELLO: "<BBBBBBHI8s",  # proto major, minor, fw major, minor, patch, flags, capabilities, boot id, board id
    ACK: "<H",  # acknowledged seq
    NACK: "<HB",  # refused seq, reason
    PIR: "<BI",  # sensor, MCU uptime ms (wraps after 49.7 days)
    TELEMETRY: "<HHhIIB",  # battery mV, solar mV, centi-degC, lux, RTC unix s (0 = unset), reset cause
    TAMPER: "<BH",  # kind, detail
    LORA_TX_DONE: "<HB",  # seq of the LORA_SEND it finishes, status
    LORA_RX: "<Bhb",  # port, RSSI dBm, SNR in quarter dB; then the data bytes
    IR_LAMP: "<B",  # level 0..255
    WATCHDOG_KICK: "<",
    WATCHDOG_CONFIG: "<H",  # timeout s, 0 = disabled
    SET_TIME: "<I",  # unix s
    SLEEP_UNTIL: "<I",  # unix s, 0 = until the next PIR
    LORA_SEND: "<BB",  # port, confirmed; then the data bytes
}
_WITH_DATA = (LORA_SEND, LORA_RX)  # the last field is bytes of variable length


def is_known(msg_type: int) -> bool:
    return msg_type in LAYOUTS


def pack_payload(msg_type: int, fields: tuple) -> bytes:
    """Pack ``fields`` (in layout order) for ``msg_type``. LORA_SEND's and LORA_RX's last field is
    their data."""
    layout = LAYOUTS[msg_type]
    if msg_type in _WITH_DATA:
        data = bytes(fields[-1])
        if len(data) > LORA_MAX_PAYLOAD:
            raise ValueError("lora data is %d bytes, at most %d fit" % (len(data), LORA_MAX_PAYLOAD))
        return struct.pack(layout, *fields[:-1]) + data
    return struct.pack(layout, *fields) if fields else b""


def unpack_payload(msg_type: int, payload: bytes) -> tuple:
    """Unpack a payload into a tuple in layout order. ValueError if its length does not fit."""
    layout = LAYOUTS[msg_type]
    size = struct.calcsize(layout)
    if msg_type in _WITH_DATA:
        if not size <= len(payload) <= size + LORA_MAX_PAYLOAD:
            raise ValueError("type 0x%02x wants %d to %d payload bytes, got %d"
                             % (msg_type, size, size + LORA_MAX_PAYLOAD, len(payload)))
        return struct.unpack(layout, payload[:size]) + (bytes(payload[size:]),)
    if len(payload) != size:
        raise ValueError("type 0x%02x wants %d payload bytes, got %d" % (msg_type, size, len(payload)))
    return struct.unpack(layout, payload) if size else ()


# CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. check("123456789") = 0x29B1.
def _crc_table() -> tuple:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ byte]
    return crc


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result has no zero byte (canonical form)."""
    data = bytes(data)
    out = bytearray()
    start = 0
    end_of_data = len(data)
    while True:
        zero = data.find(DELIMITER, start)
        stop = end_of_data if zero < 0 else zero
        long_run = False
        while stop - start >= 254:  # a full block: code 0xFF, no implied zero after it
            out.append(0xFF)
            out.extend(data[start : start + 254])
            start += 254
            long_run = True
        if zero < 0:
            if start < stop or not long_run:
                out.append(stop - start + 1)
                out.extend(data[start:stop])
            return bytes(out)
        out.append(stop - start + 1)
        out.extend(data[start:stop])
        start = zero + 1


def cobs_decode(encoded: bytes) -> bytes:
    """Undo :func:`cobs_encode`. ValueError if the input is not valid COBS (e.g. truncated)."""
    encoded = bytes(encoded)
    if encoded.find(DELIMITER) >= 0:
        raise ValueError("zero byte inside a COBS block")
    out = bytearray()
    index = 0
    length = len(encoded)
    while index < length:
        code = encoded[index]
        end = index + code
        if end > length:
            raise ValueError("COBS block of %d bytes runs past the frame's end" % (code - 1))
        out.extend(encoded[index + 1 : end])
        index = end
        if code != 0xFF and index < length:
            out.append(0)
    return bytes(out)


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """A complete frame, delimiters included, ready to write to the UART."""
    if len(payload) > MAX_PAYLOAD_LEN:
        raise ValueError("payload of %d bytes, at most %d fit in a frame" % (len(payload), MAX_PAYLOAD_LEN))
    body = struct.pack("<BH", msg_type, seq % SEQ_MODULO) + bytes(payload)
    body += struct.pack(">H", crc16(body))
    return DELIMITER + cobs_encode(body) + DELIMITER


# Deframer results: (FRAME_OK, (type, seq, payload)) or (ERR_*, offending encoded bytes).
FRAME_OK = const(0)
ERR_COBS = const(1)  # not valid COBS: usually a frame cut short by a reset or line noise
ERR_CRC = const(2)  # bits flipped on the line
ERR_TOO_LONG = const(3)  # no delimiter within MAX_ENCODED_LEN bytes: skipped to the next delimiter
ERR_SHORT = const(4)  # decodes to fewer bytes than a header and a CRC


def decode_frame(encoded: bytes) -> tuple:
    """Decode one frame's bytes (between delimiters) into ``(status, value)``; never raises."""
    try:
        body = cobs_decode(encoded)
    except ValueError:
        return (ERR_COBS, encoded)
    if len(body) < HEADER_LEN + CRC_LEN:
        return (ERR_SHORT, encoded)
    if len(body) > MAX_FRAME_LEN:
        return (ERR_TOO_LONG, encoded)
    if crc16(body) != 0:  # the CRC is stored big-endian, so the CRC over body + CRC is zero
        return (ERR_CRC, encoded)
    msg_type, seq = struct.unpack("<BH", body[:HEADER_LEN])
    return (FRAME_OK, (msg_type, seq, body[HEADER_LEN:-CRC_LEN]))


class Deframer:
    """Splits a byte stream at delimiters and decodes each frame. Pure: no I/O, bounded memory.

    ``feed()`` may be given any slicing of the stream; a frame split across calls is reassembled.
    Garbage, truncated and corrupt frames come out as error results and never stop the next frame.
    """

    def __init__(self):
        self._buf = bytearray()
        self._skipping = False  # after ERR_TOO_LONG: drop bytes until the next delimiter

    def reset(self):
        self._buf = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list:
        results = []  # type: list[tuple]
        data = bytes(data)
        start = 0
        while start < len(data):
            end = data.find(DELIMITER, start)
            if end < 0:
                self._collect(data[start:], results)
                break
            self._collect(data[start:end], results)
            if not self._skipping and self._buf:  # empty frames (back-to-back delimiters) are padding
                results.append(decode_frame(bytes(self._buf)))
            self._buf = bytearray()
            self._skipping = False
            start = end + 1
        return results

    def _collect(self, chunk: bytes, results: list):
        if self._skipping or not chunk:
            return
        if len(self._buf) + len(chunk) > MAX_ENCODED_LEN:
            self._buf = bytearray()
            self._skipping = True
            results.append((ERR_TOO_LONG, b""))
            return
        self._buf.extend(chunk)
