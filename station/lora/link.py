"""The LoRa uplink and its link policy: a few bytes over LoRaWAN while the MQTT link is down.

Policy (``[lora]`` in station.toml):
- while MQTT is connected, LoRa stays silent: the full records go over MQTT;
- once MQTT has been down for ``mqtt_grace_s``, the detections it has not delivered whose priority is at
  most ``max_priority`` (0: people and big cats) are summarised over LoRa, packed several to an uplink,
  within the region's payload limit and airtime budget; a status frame goes every ``status_interval_s``;
- when MQTT comes back, it delivers the full records as usual. The central side joins a LoRa summary to its
  full record by station, species code and start second (the LoRa detection's time is the sequence start),
  so nothing is counted twice; the LoRa frame counter shows the server which summaries it missed.

The frame counter and the duty-cycle state are kept in the database, so a restart neither reuses counters
nor forgets airtime already spent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from station.lora.budget import DutyCycleBudget
from station.lora.errors import LoRaError
from station.lora.ports import Downlink, LoRaModem, SendStatus
from station.lora.regions import region
from station.lora.settings import LoRaSection
from station.stats import Stats
from station.store.db import connect, write_transaction
from station.store.outbox import PENDING
from station.wire.ids import parse_iso
from station.wire.lora_codec import (
    RequestStatus,
    StatusFrame,
    decode_downlink,
    encode_status,
    lora_detection,
    pack_detections,
)

log = logging.getLogger(__name__)

_PENDING = f"""SELECT message_id, payload, kind, event_id FROM outbox
    WHERE kind IN ('alert', 'detection') AND {PENDING} AND lora_sent_at IS NULL AND priority <= ?
    ORDER BY priority, message_id LIMIT 64"""
#: (sequence, species code) already summarised over LoRa by a provisional alert: its full record adds nothing
_ALERTED = """SELECT payload FROM outbox WHERE kind = 'alert' AND lora_sent_at IS NOT NULL AND event_id = ?"""


class LoRaLink:
    def __init__(self, *, settings: LoRaSection, modem_factory: Callable[[Callable[[Downlink], None]], LoRaModem],
                 db_path: Path, stats: Stats, mqtt_up: Callable[[], bool],
                 status_frame: Callable[[int], StatusFrame], clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._modem_factory = modem_factory
        self._db_path = db_path
        self._stats = stats
        self._mqtt_up = mqtt_up
        self._status_frame = status_frame
        self._clock = clock
        self.budget: DutyCycleBudget = settings.budget(clock=clock)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._status_requested = threading.Event()
        self._down_since: float | None = None
        self._last_status = 0.0
        self._modem: LoRaModem | None = None
        self._thread = threading.Thread(target=self._run, name="uplink-lora", daemon=True)

    def start(self) -> None:
        self._modem = self._modem_factory(self._on_downlink)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._modem is not None:
            self._modem.close()

    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def modem(self) -> LoRaModem | None:
        return self._modem

    def _started_modem(self) -> LoRaModem:
        if self._modem is None:
            raise LoRaError("LoRa link used before start()")
        return self._modem

    def notify(self) -> None:
        """New outbox rows, or the MQTT link went up or down."""
        self._wake.set()

    def _on_downlink(self, downlink: Downlink) -> None:  # modem reader thread: only flag, never call the modem
        try:
            command = decode_downlink(downlink.payload)
        except ValueError as exc:
            log.warning("LoRa downlink not understood (%s): %s", exc, downlink.payload.hex())
            return
        log.info("LoRa downlink: %s", command)
        if isinstance(command, RequestStatus):
            self._status_requested.set()
            self._wake.set()

    # -- the worker --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        db = connect(self._db_path)
        try:
            self._restore(db)
            joined = self._join()
            while not self._stopping.is_set():
                timeout = self._step(db) if joined else 60.0
                self._wake.wait(timeout)
                self._wake.clear()
                if not joined and not self._stopping.is_set():
                    joined = self._join()
        finally:
            db.conn.close()

    def _join(self) -> bool:
        s = self._settings
        joined = self._started_modem().join(s.dev_eui, s.app_eui, s.app_key, timeout=30.0)
        self.budget.record_join(self._started_modem().data_rate())
        log.info("LoRaWAN join %s", "accepted" if joined else "failed; retrying in 60 s")
        return joined

    def _step(self, db) -> float | None:
        """Do what the policy allows now; return how long to sleep (None: until woken)."""
        now = self._clock()
        if self._mqtt_up() and not self._status_requested.is_set():
            self._down_since = None
            return None
        self._down_since = self._down_since or now
        waited = now - self._down_since
        if waited < self._settings.mqtt_grace_s and not self._status_requested.is_set():
            return self._settings.mqtt_grace_s - waited
        if self._status_requested.is_set() or now - self._last_status >= self._settings.status_interval_s:
            if not self._send_status(db):
                return self._retry_in()
        sent_any = self._send_detections(db)
        if sent_any is None:
            return self._retry_in()
        next_status = self._last_status + self._settings.status_interval_s - now
        return 0.0 if sent_any else max(1.0, next_status)

    def _retry_in(self) -> float:
        next_at = self.budget.next_send_at(self._region_limit(), self._started_modem().data_rate())
        return max(1.0, (next_at or self._clock() + 60) - self._clock())

    def _send_detections(self, db) -> bool | None:
        """One uplink of summaries. True: sent; False: nothing to send; None: not allowed or failed now."""
        rows = db.execute(_PENDING, [self._settings.max_priority]).fetchall()
        summaries, owners, covered = [], [], []
        alerting: dict[str, set[int]] = {}  # alerts in this pass, by sequence: their record adds nothing
        for message_id, payload, kind, event_id in rows:
            message = json.loads(payload)
            start = int(parse_iso(message["start"]).timestamp())  # a provisional alert carries its sequence's
            if kind == "alert":
                alerting.setdefault(event_id, set()).update(d["species_code"] for d in message["detections"])
            known = set() if kind == "alert" or event_id is None else (
                _alerted_codes(db, event_id) | alerting.get(event_id, set()))
            for detection in message["detections"]:
                if detection["species_code"] in known:
                    continue
                summaries.append(lora_detection(detection["species_code"], detection["confidence"],
                                                detection.get("count"), start))
                owners.append(message_id)
            if known and all(d["species_code"] in known for d in message["detections"]):
                covered.append(message_id)
        if covered:  # the alert's summary already told the central side everything this record would
            _mark_lora_sent(db, covered, None)
        if not summaries:
            return False
        limit = self._region_limit()
        packed = pack_detections(summaries, sequence=self._next_sequence(db), max_payload=limit)
        if packed is None:  # only for no summaries at all
            return False
        if not self._transmit(db, packed.payload, kind="detections"):
            return None
        included = {owners[i] for i, d in enumerate(summaries) if d in packed.frame.detections}
        _mark_lora_sent(db, sorted(included), packed.frame.sequence)
        self._stats.add("lora_detections_sent", len(packed.frame.detections))
        return True

    def _send_status(self, db) -> bool:
        payload = encode_status(self._status_frame(self._next_sequence(db)))
        if not self._transmit(db, payload, kind="status"):
            return False
        self._status_requested.clear()
        self._last_status = self._clock()
        return True

    def _transmit(self, db, payload: bytes, *, kind: str) -> bool:
        data_rate = self._started_modem().data_rate()
        verdict = self.budget.check(len(payload), data_rate)
        if not verdict.allowed:
            log.info("LoRa %s uplink held back: %s", kind, verdict.reason)
            self._stats.add("lora_held_back")
            return False
        result = self._started_modem().send(self._settings.port, payload, confirmed=self._settings.confirmed)
        if result.status in (SendStatus.OK, SendStatus.NO_ACK):
            self.budget.record(len(payload), data_rate)
        self._save(db)
        for downlink in result.downlinks:
            self._on_downlink(downlink)
        if result.status is not SendStatus.OK:
            log.warning("LoRa %s uplink not delivered: %s", kind, result.status.value)
            self._stats.add("lora_send_failures")
            return False
        self._stats.add("lora_uplinks")
        return True

    def _region_limit(self) -> int:
        return region(self._settings.region).max_payload(self._started_modem().data_rate())

    # -- persistent state --------------------------------------------------------------------------------------
    def _next_sequence(self, db) -> int:
        row = db.execute("SELECT value FROM kv WHERE key = 'lora_frame_sequence'").fetchone()
        value = (int(row[0]) + 1) & 0xFFFF if row else 0
        with write_transaction(db):
            db.conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('lora_frame_sequence', ?)", [str(value)])
        return value

    def _save(self, db) -> None:
        with write_transaction(db):
            db.conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('lora_budget', ?)",
                            [json.dumps(self.budget.to_dict())])

    def _restore(self, db) -> None:
        row = db.execute("SELECT value FROM kv WHERE key = 'lora_budget'").fetchone()
        if row:
            self.budget.restore(json.loads(row[0]))


def _alerted_codes(db, event_id: str) -> set[int]:
    return {d["species_code"] for (payload,) in db.execute(_ALERTED, [event_id])
            for d in json.loads(payload)["detections"]}


def _mark_lora_sent(db, message_ids: list[str], frame: int | None) -> None:
    with write_transaction(db):
        db.conn.executemany("UPDATE outbox SET lora_sent_at = ?, lora_frame = ? WHERE message_id = ?",
                            [(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), frame, m) for m in message_ids])
