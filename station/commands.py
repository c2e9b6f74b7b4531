"""Remote commands from the central side: validated, idempotent by request id, always answered.

A command arrives on ``<root>/<station>/cmd/<name>`` (the broker's ACL lets only the central user write
there), is run on the command thread (never on paho's network thread), and its reply goes through the
outbox to ``cmd_result/<request_id>``, so a reply is delivered at least once like everything else. A request
id seen before gets the stored reply again; the command is not run twice. An unknown or malformed command
gets an error reply; nothing a command says can crash the station.

A request may carry the MQTT 5 response topic and correlation data: the reply then goes to that topic (if it
is under this station's prefix) and echoes the correlation data. A request past its ``expires_at`` (or
``mqtt.command_max_age_s`` after its ``sent_at``) is not run; it is answered ``expired`` — the broker drops
a request whose MQTT message expiry passed, this catches one a broker held anyway or a clock that differs.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pydantic import ValidationError

from station.config_edit import applies_live, set_key
from station.errors import StationError
from station.ids import iso, parse_iso, utc_now, uuid7
from station.store.db import connect, write_transaction
from station.store.repo import OutboxMessage
from station.types import Trigger
from station.uplink.messages import CommandRequest, CommandResult, encode_json

if TYPE_CHECKING:
    from station.app import StationApp

log = logging.getLogger(__name__)

_STOP = object()
REPLY_PRIORITY = 0


class CommandError(StationError, ValueError):
    """A command that cannot be carried out; the message goes back to the sender."""


class CommandWorker:
    def __init__(self, app: StationApp) -> None:
        self._app = app
        self._inbox: queue.Queue = queue.Queue(maxsize=100)
        self._thread = threading.Thread(target=self._run, name="commands", daemon=True)
        self._handlers: dict[str, Callable[[dict], dict]] = {
            "capture": self._capture, "status": self._status, "telemetry": self._telemetry,
            "config_set": self._config_set, "send_media": self._send_media, "model_reload": self._model_reload}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._inbox.put(_STOP)
            self._thread.join()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, name: str, payload: bytes, *, response_topic: str | None = None,
               correlation_data: bytes | None = None) -> None:
        """From paho's thread: queue and return at once (a flood of commands is dropped and logged).

        ``response_topic`` is relative to this station's prefix (the uplink checks it)."""
        try:
            self._inbox.put_nowait((name, payload, response_topic, correlation_data))
        except queue.Full:
            log.warning("command queue full: %s dropped", name)

    def _run(self) -> None:
        db = connect(self._app.db_path)
        try:
            while (item := self._inbox.get()) is not _STOP:
                self._handle(db, *item)
        finally:
            db.conn.close()

    def _handle(self, db, name: str, payload: bytes, response_topic: str | None = None,
                correlation_data: bytes | None = None) -> None:
        reply_to = {"response_topic": response_topic, "correlation_data": correlation_data}
        try:
            request = CommandRequest.model_validate_json(payload)
        except ValidationError as exc:
            request_id = _request_id_of(payload)
            log.warning("malformed command %s: %s", name, exc.errors()[0]["msg"])
            self._reply(db, request_id, name, ok=False, error=f"malformed command: {exc.errors()[0]['msg']}",
                        **reply_to)
            return
        known = db.execute("SELECT reply_message_id FROM commands WHERE request_id = ?",
                           [request.request_id]).fetchone()
        if known:  # a repeat (at-least-once delivery): answer again, do not run again
            db.execute("UPDATE outbox SET sent_at = NULL WHERE message_id = ?", [known[0]])
            db.conn.commit()
            self._app.notify_outbox()
            return
        handler = self._handlers.get(name)
        if handler is None:
            self._reply(db, request.request_id, name, ok=False,
                        error=f"unknown command {name!r}; known: {', '.join(sorted(self._handlers))}", **reply_to)
            return
        expired = self._expired(request)
        if expired:
            log.warning("command %s %s not run: %s", name, request.request_id, expired)
            self._reply(db, request.request_id, name, ok=False, error=expired, **reply_to)
            return
        try:
            self._reply(db, request.request_id, name, ok=True, result=handler(request.args), **reply_to)
        except (StationError, ValidationError, KeyError, TypeError, OSError) as exc:
            self._reply(db, request.request_id, name, ok=False, error=str(exc), **reply_to)

    def _expired(self, request: CommandRequest) -> str:
        """Why the request is too old to run ('' when it is not); an unreadable time counts as expired."""
        now = utc_now()
        try:
            if request.expires_at is not None:
                limit = parse_iso(request.expires_at)
            elif request.sent_at is not None:
                limit = parse_iso(request.sent_at) + timedelta(seconds=self._app.config.mqtt.command_max_age_s)
            else:
                return ""
        except ValueError as exc:
            return f"expired: cannot read its expiry time ({exc}); not run"
        if limit.tzinfo is None:
            return "expired: expires_at/sent_at must be RFC 3339 UTC with Z; not run"
        if now > limit:
            return f"expired at {iso(limit)} (received {iso(now)}); not run"
        return ""

    def _reply(self, db, request_id: str, name: str, *, ok: bool, result: dict | None = None,
               error: str | None = None, response_topic: str | None = None,
               correlation_data: bytes | None = None) -> None:
        reply = CommandResult(id=uuid7(), station_id=self._app.config.station.id, request_id=request_id,
                              command=name, ok=ok, result=result or {}, error=error)
        body = encode_json(reply)
        message = OutboxMessage(message_id=reply.id, kind="cmd_result", priority=REPLY_PRIORITY,
                                topic=response_topic or f"cmd_result/{request_id}", payload=body,
                                content_type="application/json", correlation_data=correlation_data)
        with write_transaction(db):
            db["outbox"].insert({**message.__dict__, "created_at": iso(utc_now())})
            db["commands"].insert({"request_id": request_id, "command": name, "received_at": iso(utc_now()),
                                   "ok": int(ok), "reply_message_id": reply.id, "reply": body}, ignore=True)
        self._app.notify_outbox()

    # -- the commands ---------------------------------------------------------------------------------------
    def _capture(self, args: dict) -> dict:
        subject = args.get("subject")
        self._app.on_trigger(Trigger(source="command", at=utc_now(), subject=subject if subject else None))
        return {"queued": True}

    def _status(self, args: dict) -> dict:
        self._app.publish_status()
        self._app.enqueue_telemetry()
        return {"status": "published", "telemetry": "queued"}

    def _telemetry(self, args: dict) -> dict:
        self._app.enqueue_telemetry()
        return {"telemetry": "queued"}

    def _config_set(self, args: dict) -> dict:
        key, value = args.get("key"), args.get("value")
        if not isinstance(key, str) or value is None:
            raise CommandError('config_set needs args {"key": "section.key", "value": ...}')
        path = self._app.config.source_path
        if path is None:
            raise CommandError("this station was not started from a config file; nothing to persist")
        updated = set_key(path, key, value)
        live = applies_live(key)
        if live:
            self._app.apply_live(key, updated)
        return {"key": key, "value": value, "persisted": str(path), "applied": live, "restart_required": not live}

    def _send_media(self, args: dict) -> dict:
        media_id = args.get("media_id")
        if not isinstance(media_id, str):
            raise CommandError('send_media needs args {"media_id": "..."}')
        size = self._app.enqueue_full_media(media_id)
        return {"media_id": media_id, "bytes": size, "topic": f"media/{media_id}/full"}

    def _model_reload(self, args: dict) -> dict:
        card = args.get("card")
        loaded = self._app.reload_model(Path(card) if isinstance(card, str) and card else None)
        return {"model": loaded}


def _request_id_of(payload: bytes) -> str:
    try:
        value = json.loads(payload).get("request_id")
    except (ValueError, AttributeError, UnicodeDecodeError):
        value = None
    if isinstance(value, str) and 0 < len(value) <= 64 and all(c.isalnum() or c in "_.:-" for c in value):
        return value
    return f"invalid-{uuid7()}"
