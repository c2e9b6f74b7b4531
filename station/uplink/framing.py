"""What goes out in one MQTT PUBLISH: a single outbox message, or a batch of many after an outage.

The outbox keeps every message as compact JSON (or an image); the wire encoding is applied here. When the
outbox holds a backlog, consecutive detections and telemetry (the kinds the central ingest stores) travel as
one ``batch`` message: JSON Lines in one zstd frame, one compression context for all of them. A batch
carries the ids of every row in it; the uplink marks them all sent on the PUBACK of that one publish.
Command results and media always go alone (an operator waits for a reply on its own topic).
"""

from __future__ import annotations

import dataclasses

from station.store.outbox import PendingMessage
from station.wire.encoding import JSON, KINDS, WireEncoder

BATCHABLE = frozenset({"detection", "telemetry"})
BATCH_MAX_JSON_BYTES = 256_000
BATCH_TOPIC = "batch"


@dataclasses.dataclass(frozen=True)
class Publish:
    """One PUBLISH: ``topic`` relative to ``<root>/<station_id>/``; ``message_ids`` the outbox rows it carries."""

    topic: str
    payload: bytes
    content_type: str
    message_ids: tuple[str, ...]
    correlation_data: bytes | None = None


def publishes(rows: list[PendingMessage], wire: WireEncoder, *, room: int, batch_max: int) -> list[Publish]:
    """At most ``room`` publishes for ``rows`` (in outbox order); a batch sits where its first row was.

    Detections and their thumbnails alternate in a backlog, so ``rows`` should hold about two rows per
    batch place (the uplink reads ``room + 2 * batch_max``)."""
    planned: list[PendingMessage | list[PendingMessage]] = []
    batch: list[PendingMessage] | None = None
    batch_bytes = 0
    for row in rows:  # once the room is full, later rows can still join the open batch
        if batch_max > 1 and _batchable(row):
            if batch is None or len(batch) >= batch_max or batch_bytes + len(row.payload) > BATCH_MAX_JSON_BYTES:
                if len(planned) >= room:
                    continue
                batch, batch_bytes = [], 0
                planned.append(batch)
            batch.append(row)
            batch_bytes += len(row.payload) + 1
        elif len(planned) < room:
            planned.append(row)
    return [_batch(item, wire) if isinstance(item, list) else single(item, wire) for item in planned]


def single(row: PendingMessage, wire: WireEncoder) -> Publish:
    correlation = row.correlation_data
    if row.content_type == JSON and row.kind in KINDS:
        payload, content_type = wire.encode(row.kind, row.payload)
        return Publish(row.topic, payload, content_type, (row.message_id,), correlation)
    return Publish(row.topic, row.payload, row.content_type, (row.message_id,), correlation)


def _batch(rows: list[PendingMessage], wire: WireEncoder) -> Publish:
    if len(rows) == 1:
        return single(rows[0], wire)
    payload, content_type = wire.encode_batch([row.payload for row in rows])
    return Publish(BATCH_TOPIC, payload, content_type, tuple(row.message_id for row in rows))


def _batchable(row: PendingMessage) -> bool:
    return row.kind in BATCHABLE and row.content_type == JSON and b"\n" not in row.payload
