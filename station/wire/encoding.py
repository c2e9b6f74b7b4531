"""The bytes of the MQTT wire: compact JSON compressed with zstd and a shipped, versioned dictionary.

A message is built once as compact JSON (``encode_json``; the outbox keeps that form) and encoded when it
is sent. The MQTT 5 content-type property says how, so a receiver never guesses:

- ``application/vnd.trapd.<kind>+zstd;dict=<n>``: one message (kind ``detection``, ``telemetry``, ``status``,
  ``cmd_result`` or ``alert``), a zstd frame of its JSON made with dictionary ``n`` (``trapd-wire-<n>.zdict``,
  shipped in this package, dictionary id ``32768 + n`` in the frame header);
- ``application/vnd.trapd.batch+zstd;dict=<n>``: several messages after an outage, their JSON as JSON
  Lines (one message a line, ``\\n`` between) in one zstd frame, so they share one compression context;
- ``application/json`` and ``application/jsonl``: the same without compression (``mqtt.encoding = "json"``,
  for debugging with ``mosquitto_sub``).

The encoding compresses whatever JSON the models produce, so a field added in a minor version travels
without a change here (a dictionary that has not seen it compresses it a little less well).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import threading
from typing import Literal

import zstandard

DICT_VERSION = 1
KNOWN_DICTS = (1,)
KINDS = ("detection", "telemetry", "status", "cmd_result", "alert")
JSON, JSONL = "application/json", "application/jsonl"
VENDOR = "application/vnd.trapd."
MAX_DECODED_BYTES = 4_000_000
DEFAULT_LEVEL = 9  # tests/bench/bench_wire.py: the bytes of level 19 at an eighth of its CPU
Encoding = Literal["zstd-dict", "json"]


class WireFormatError(ValueError):
    """A payload whose encoding this side cannot read; ``reason`` says which and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def dict_id(version: int) -> int:
    """The dictionary id written into every zstd frame (above zstd's reserved range 0-32767)."""
    return 32768 + version


def dictionary_bytes(version: int = DICT_VERSION) -> bytes:
    if version not in KNOWN_DICTS:
        known = ", ".join(map(str, KNOWN_DICTS))
        raise WireFormatError(f"zstd dictionary {version} is unknown here (known: {known}); upgrade trapd on "
                              f"this side to one that ships trapd-wire-{version}.zdict")
    return importlib.resources.files("station.wire").joinpath(f"trapd-wire-{version}.zdict").read_bytes()


@functools.cache
def dictionary(version: int = DICT_VERSION) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(dictionary_bytes(version))


@dataclasses.dataclass(frozen=True)
class ContentType:
    """A parsed wire content type: ``codec`` is ``json`` or ``zstd``; ``batch`` for JSON Lines."""

    codec: str
    kind: str | None
    batch: bool
    dict_version: int | None = None

    def __str__(self) -> str:
        if self.codec == "json":
            return JSONL if self.batch else JSON
        return f"{VENDOR}{'batch' if self.batch else self.kind}+zstd;dict={self.dict_version}"


def parse_content_type(value: str | None) -> ContentType:
    """Raises WireFormatError for anything this version does not know."""
    if value is None or not value.strip():
        return ContentType("json", None, False)  # stations before the content type was set
    media, *raw_params = [part.strip() for part in value.split(";")]
    media = media.lower()
    params = {name: setting for name, _, setting in (p.partition("=") for p in raw_params)}
    if media in (JSON, JSONL):
        return ContentType("json", None, media == JSONL)
    if media.startswith(VENDOR) and media.endswith("+zstd"):
        kind = media[len(VENDOR):-len("+zstd")]
        if kind != "batch" and kind not in KINDS:
            raise WireFormatError(f"content type {value!r}: unknown message kind {kind!r}")
        version = params.get("dict", "")
        if not version.isdigit():
            raise WireFormatError(f"content type {value!r} names no zstd dictionary (dict=<n>)")
        return ContentType("zstd", None if kind == "batch" else kind, kind == "batch", int(version))
    raise WireFormatError(f"unknown content type {value!r}; known: {JSON}, {JSONL}, "
                          f"{VENDOR}<kind>+zstd;dict=<n>")


class WireEncoder:
    """Encodes outbox JSON for the wire. Thread-safe (one compressor behind a lock)."""

    def __init__(self, encoding: Encoding = "zstd-dict", *, level: int = DEFAULT_LEVEL,
                 dict_version: int = DICT_VERSION) -> None:
        self.encoding = encoding
        self._lock = threading.Lock()
        self._dict_version = dict_version
        self._compressor = None
        if encoding == "zstd-dict":
            self._compressor = zstandard.ZstdCompressor(level=level, dict_data=dictionary(dict_version),
                                                        write_checksum=False, write_content_size=True,
                                                        write_dict_id=True)
        elif encoding != "json":
            raise ValueError(f"unknown wire encoding {encoding!r}; use zstd-dict or json")

    def content_type(self, kind: str | None, *, batch: bool = False) -> str:
        codec = "json" if self._compressor is None else "zstd"
        return str(ContentType(codec, kind, batch, None if codec == "json" else self._dict_version))

    def encode(self, kind: str, body: bytes) -> tuple[bytes, str]:
        """One message's JSON -> (payload, content type). ``kind`` is one of KINDS."""
        if kind not in KINDS:
            raise ValueError(f"no wire encoding for message kind {kind!r}")
        return self._compress(body), self.content_type(kind)

    def encode_batch(self, bodies: list[bytes]) -> tuple[bytes, str]:
        """Several messages' JSON as JSON Lines in one frame (one compression context)."""
        if any(b"\n" in body for body in bodies):
            raise ValueError("a batched message must be compact JSON (no newline)")
        return self._compress(b"\n".join(bodies)), self.content_type(None, batch=True)

    def _compress(self, data: bytes) -> bytes:
        if self._compressor is None:
            return data
        with self._lock:
            return self._compressor.compress(data)


def decode_payload(payload: bytes, content_type: str | None, *, max_bytes: int = MAX_DECODED_BYTES) -> bytes:
    """The JSON (or JSON Lines, for a batch) a payload carries; WireFormatError says why not."""
    parsed = parse_content_type(content_type)
    version = parsed.dict_version
    if parsed.codec == "json":
        return payload
    if version is None:  # parse_content_type gives every zstd type its dictionary version
        raise WireFormatError(f"content type {content_type!r} names no zstd dictionary (dict=<n>)")
    known = dictionary(version)  # an unknown dictionary is the first thing to say
    try:
        frame = zstandard.get_frame_parameters(payload)
    except zstandard.ZstdError as exc:
        raise WireFormatError(f"content type says zstd but the payload is not a zstd frame ({exc})") from None
    if frame.dict_id != dict_id(version):
        raise WireFormatError(f"zstd frame made with dictionary id {frame.dict_id}, content type says dict="
                              f"{version} (id {dict_id(version)})")
    if frame.content_size > max_bytes:
        raise WireFormatError(f"zstd frame declares {frame.content_size} bytes; more than {max_bytes} is refused")
    decompressor = zstandard.ZstdDecompressor(dict_data=known)
    try:
        return decompressor.decompress(payload, max_output_size=max_bytes)
    except zstandard.ZstdError as exc:
        raise WireFormatError(f"zstd frame does not decompress with dictionary {version} ({exc})") from None
