"""A lean MQTT 5 client on asyncio, for holding tens of thousands of simulated station connections at once.

A paho client per station costs a thread or a socket loop each and several hundred kilobytes; this one is a
pair of asyncio streams and a dict, so one process holds 28,000 stations and more (benchmarks only: the
station itself uses paho). It speaks what a station does: CONNECT with a persistent session (clean start
off, a session expiry) and a retained Last Will, SUBSCRIBE to its command topic, PUBLISH at QoS 1 with a
content-type property and wait for the PUBACK, PINGREQ, and either a clean DISCONNECT or a dropped
connection (which makes the broker publish the Will).
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = (
    0x10, 0x20, 0x30, 0x40, 0x82, 0x90, 0xC0, 0xD0, 0xE0)
PROP_CONTENT_TYPE, PROP_SESSION_EXPIRY = 0x03, 0x11


class MqttLoadError(ConnectionError):
    """The broker refused or dropped a simulated station."""


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def text(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">H", len(raw)) + raw


def packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + varint(len(body)) + body


@dataclasses.dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True


def connect_packet(client_id: str, *, keepalive_s: int, session_expiry_s: int, will: Will | None) -> bytes:
    flags = 0x00 if session_expiry_s else 0x02  # clean start only for a throw-away session
    payload = text(client_id)
    if will is not None:
        flags |= 0x04 | 0x08 | (0x20 if will.retain else 0)  # will, QoS 1, retain
        payload += b"\x00" + text(will.topic) + struct.pack(">H", len(will.payload)) + will.payload
    properties = bytes([PROP_SESSION_EXPIRY]) + struct.pack(">I", session_expiry_s)
    head = text("MQTT") + bytes([5, flags]) + struct.pack(">H", keepalive_s) + varint(len(properties)) + properties
    return packet(CONNECT, head + payload)


def publish_packet(topic: str, payload: bytes, packet_id: int, *, content_type: str | None, retain: bool) -> bytes:
    properties = bytes([PROP_CONTENT_TYPE]) + text(content_type) if content_type else b""
    body = text(topic) + struct.pack(">H", packet_id) + varint(len(properties)) + properties + payload
    return packet(PUBLISH | 0x02 | (0x01 if retain else 0), body)


class LeanStation:
    """One simulated station's MQTT connection."""

    def __init__(self, client_id: str, *, keepalive_s: int = 120, session_expiry_s: int = 86_400,
                 will: Will | None = None) -> None:
        self.client_id = client_id
        self.keepalive_s, self.session_expiry_s, self.will = keepalive_s, session_expiry_s, will
        self.session_present = False
        self.commands: list[tuple[str, bytes]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._next_id = 0
        self._pong: asyncio.Event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._task is not None and not self._task.done()

    async def connect(self, host: str, port: int, *, source: str | None = None, timeout: float = 30.0) -> bool:
        """Connect (from ``source`` address if given); returns whether the broker kept a session."""
        local = (source, 0) if source else None
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, local_addr=local), timeout)
        self._reader, self._writer = reader, writer
        writer.write(connect_packet(self.client_id, keepalive_s=self.keepalive_s,
                                          session_expiry_s=self.session_expiry_s, will=self.will))
        kind, body = await asyncio.wait_for(self._read_packet(), timeout)
        if kind != CONNACK or len(body) < 2 or body[1] != 0:
            reason = body[1] if kind == CONNACK and len(body) > 1 else None
            self.drop()
            raise MqttLoadError(f"{self.client_id}: broker refused the connection (reason {reason})")
        self.session_present = bool(body[0] & 0x01)
        self._task = asyncio.create_task(self._read_loop())
        return self.session_present

    async def subscribe(self, topic: str, timeout: float = 30.0) -> None:
        packet_id = self._packet_id()
        done = self._expect(packet_id)
        self._send(packet(SUBSCRIBE, struct.pack(">H", packet_id) + b"\x00" + text(topic) + b"\x01"))
        await asyncio.wait_for(done, timeout)

    async def publish(self, topic: str, payload: bytes, *, content_type: str | None = None, retain: bool = False,
                      timeout: float = 60.0) -> None:
        """QoS 1: returns once the broker acknowledged it (PUBACK)."""
        packet_id = self._packet_id()
        done = self._expect(packet_id)
        self._send(publish_packet(topic, payload, packet_id, content_type=content_type, retain=retain))
        await asyncio.wait_for(done, timeout)

    async def ping(self, timeout: float = 30.0) -> None:
        self._pong.clear()
        self._send(bytes([PINGREQ, 0]))
        await asyncio.wait_for(self._pong.wait(), timeout)

    async def disconnect(self) -> None:
        """A clean goodbye: the broker keeps the session and does not publish the Will."""
        if self._writer is not None:
            self._send(bytes([DISCONNECT, 1, 0]))
            await self._writer.drain()
        self.drop()

    def drop(self) -> None:
        """The link just dies (no DISCONNECT): the broker publishes the Will."""
        if self._task is not None:
            self._task.cancel()
        if self._writer is not None:
            self._writer.transport.abort()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(MqttLoadError(f"{self.client_id}: connection dropped"))
        self._waiting.clear()
        self._writer = self._reader = None

    def _packet_id(self) -> int:
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def _expect(self, packet_id: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[packet_id] = future
        return future

    def _send(self, data: bytes) -> None:
        if self._writer is None:
            raise MqttLoadError(f"{self.client_id}: not connected")
        self._writer.write(data)

    async def _read_packet(self) -> tuple[int, bytes]:
        assert self._reader is not None
        first = (await self._reader.readexactly(1))[0]
        length, shift = 0, 0
        while True:
            digit = (await self._reader.readexactly(1))[0]
            length += (digit & 0x7F) << shift
            shift += 7
            if not digit & 0x80:
                break
        return first, await self._reader.readexactly(length)

    async def _read_loop(self) -> None:
        try:
            while True:
                kind, body = await self._read_packet()
                self._on_packet(kind, body)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            self.drop()

    def _on_packet(self, kind: int, body: bytes) -> None:
        if kind & 0xF0 in (PUBACK, SUBACK):
            future = self._waiting.pop(struct.unpack(">H", body[:2])[0], None)
            reason = _ack_reason(kind & 0xF0, body)
            if future is None or future.done():
                return
            if reason >= 0x80:  # refused (0x87 not authorised, 0x97 quota exceeded...): not delivered
                what = "publish" if kind & 0xF0 == PUBACK else "subscription"
                future.set_exception(MqttLoadError(f"{self.client_id}: broker refused the {what} "
                                                   f"(reason {reason:#04x})"))
            else:
                future.set_result(None)
        elif kind == PINGRESP:
            self._pong.set()
        elif kind & 0xF0 == PUBLISH:  # a command for this station
            (topic_len,) = struct.unpack(">H", body[:2])
            topic = body[2:2 + topic_len].decode()
            rest = body[2 + topic_len:]
            if kind & 0x06:  # QoS 1: acknowledge it
                self._send(packet(PUBACK, rest[:2]))
                rest = rest[2:]
            prop_len, used = _read_varint(rest)
            self.commands.append((topic, rest[used + prop_len:]))


def _ack_reason(kind: int, body: bytes) -> int:
    """The reason code of a PUBACK (after the packet id; absent: success) or a SUBACK (after its properties)."""
    if kind == PUBACK:
        return body[2] if len(body) > 2 else 0
    prop_len, used = _read_varint(body[2:])
    codes = body[2 + used + prop_len:]
    return max(codes) if codes else 0


def _read_varint(data: bytes) -> tuple[int, int]:
    value, shift = 0, 0
    for used, digit in enumerate(data, start=1):
        value += (digit & 0x7F) << shift
        shift += 7
        if not digit & 0x80:
            return value, used
    raise MqttLoadError("truncated variable-length integer")
