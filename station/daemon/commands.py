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

import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from station.config.edit import set_key
from station.config.remote import remote_effect
from station.daemon.control import StationControl
from station.errors import StationError
from station.hardware.scenes import SUBJECTS
from station.limits import nesting_depth
from station.store.db import connect, write_transaction
from station.store.repo import OutboxMessage
from station.types import Trigger
from station.wire.ids import iso, parse_iso, utc_now, uuid7
from station.wire.messages import CommandRequest, CommandResult, encode_json

log = logging.getLogger(__name__)

_STOP = object()
REPLY_PRIORITY = 0
#: A command is a few hundred bytes; larger payloads, or JSON nested deeper, are refused unparsed.
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_DEPTH = 8
#: Commands waiting beyond this are answered ``busy`` without being run (the broker's flow control
#: normally keeps the backlog at its receive maximum, far below).
BUSY_BACKLOG = 256
#: How long a command that restarts the station waits for its reply to reach the broker first.
RESTART_REPLY_WAIT_S = 10.0
_REQUEST_ID = re.compile(rb'"request_id"\s*:\s*"([A-Za-z0-9_.:-]{8,64})"')

Ack = Callable[[], None]


@dataclass(frozen=True)
class ReplyTo:
    """Where a reply goes: the MQTT 5 response topic (relative to this station's prefix; None: the usual
    ``cmd_result/<request_id>``) and the correlation data to echo."""

    response_topic: str | None = None
    correlation_data: bytes | None = None


class CommandError(StationError, ValueError):
    """A command that cannot be carried out; the message goes back to the sender."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoArgs(_Args):
    pass


class CaptureArgs(_Args):
    subject: Literal[SUBJECTS] | None = None  # type: ignore[valid-type]  # simulated camera only


class ConfigSetArgs(_Args):
    key: str = Field(min_length=3, max_length=64, pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    value: bool | int | float | str = Field(union_mode="left_to_right")


class SendMediaArgs(_Args):
    media_id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ModelReloadArgs(_Args):
    card: str | None = Field(None, min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")


class CommandWorker:
    def __init__(self, app: StationControl) -> None:
        self._app = app
        self._inbox: queue.Queue = queue.Queue()  # bounded by the broker's flow control (receive maximum)
        self._thread = threading.Thread(target=self._run, name="commands", daemon=True)
        self._handlers: dict[str, tuple[type[_Args], Callable]] = {
            "capture": (CaptureArgs, self._capture), "status": (NoArgs, self._status),
            "telemetry": (NoArgs, self._telemetry), "config_set": (ConfigSetArgs, self._config_set),
            "send_media": (SendMediaArgs, self._send_media), "model_reload": (ModelReloadArgs, self._model_reload)}
        self._restart_after: tuple[str, str] | None = None  # (reason, reply message id)
        self.answered = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._inbox.put(_STOP)
            self._thread.join()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, name: str, payload: bytes, ack: Ack | None = None, *, response_topic: str | None = None,
               correlation_data: bytes | None = None) -> None:
        """From paho's thread: queue and return at once. ``ack`` is called once the reply is committed.

        ``response_topic`` is relative to this station's prefix (the uplink checks it)."""
        self._inbox.put((name, payload, ack, ReplyTo(response_topic, correlation_data)))

    def _run(self) -> None:
        db = connect(self._app.db_path)
        try:
            while (item := self._inbox.get()) is not _STOP:
                name, payload, ack, reply_to = item
                try:
                    self._handle(db, name, payload, reply_to, busy=self._inbox.qsize() >= BUSY_BACKLOG)
                except Exception:  # a reply that could not be stored (disk full...): logged; the thread lives
                    log.exception("command %s could not be answered", name[:40])
                    self._app.stats.add("commands_unanswered")
                finally:
                    if ack is not None:
                        ack()
                self._restart_if_asked(db)
        finally:
            db.conn.close()

    def _handle(self, db, name: str, payload: bytes, reply_to: ReplyTo, *, busy: bool = False) -> None:
        problem = _payload_problem(payload)
        if problem is not None:
            log.warning("refused command %s: %s", name[:40], problem)
            self._reply(db, _request_id_of(payload), name, ok=False, error=problem, reply_to=reply_to)
            return
        try:
            request = CommandRequest.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("malformed command %s: %s", name[:40], exc.errors()[0]["msg"])
            self._reply(db, _request_id_of(payload), name, ok=False,
                        error=f"malformed command: {exc.errors()[0]['msg']}", reply_to=reply_to)
            return
        known = db.execute("SELECT reply_message_id FROM commands WHERE request_id = ?",
                           [request.request_id]).fetchone()
        if known:  # a repeat (at-least-once delivery): answer again, do not run again
            db.execute("UPDATE outbox SET sent_at = NULL WHERE message_id = ?", [known[0]])
            db.conn.commit()
            self._app.notify_outbox()
            return
        if busy:
            self._app.stats.add("commands_busy")
            self._reply(db, request.request_id, name, ok=False,
                        error="busy: too many commands at once; send it again later", remember=False,
                        reply_to=reply_to)
            return
        self._run_command(db, request, name, reply_to)

    def _run_command(self, db, request: CommandRequest, name: str, reply_to: ReplyTo) -> None:
        entry = self._handlers.get(name)
        if entry is None:
            self._reply(db, request.request_id, name, ok=False,
                        error=f"unknown command {name[:40]!r}; known: {', '.join(sorted(self._handlers))}",
                        reply_to=reply_to)
            return
        expired = self._expired(request)
        if expired:
            log.warning("command %s %s not run: %s", name, request.request_id, expired)
            self._reply(db, request.request_id, name, ok=False, error=expired, reply_to=reply_to)
            return
        model, handler = entry
        try:
            args = model.model_validate(request.args)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "args"
            self._reply(db, request.request_id, name, ok=False, error=f"{name}: {where}: {first['msg']}",
                        reply_to=reply_to)
            return
        try:
            result = handler(args)
        except (StationError, ValidationError, KeyError, TypeError, ValueError, OSError) as exc:
            self._reply(db, request.request_id, name, ok=False, error=str(exc)[:500], reply_to=reply_to)
            return
        except Exception as exc:  # a bug must not cost the station its command thread
            log.exception("command %s failed", name)
            self._reply(db, request.request_id, name, ok=False, error=f"internal error: {type(exc).__name__}",
                        reply_to=reply_to)
            return
        reply_id = self._reply(db, request.request_id, name, ok=True, result=result, reply_to=reply_to)
        if result.get("restart_scheduled"):
            self._restart_after = (f"config_set {result['key']}", reply_id)

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
               error: str | None = None, remember: bool = True, reply_to: ReplyTo) -> str:
        reply = CommandResult(id=uuid7(), station_id=self._app.config.station.id, request_id=request_id,
                              command=name[:64], ok=ok, result=result or {}, error=error)
        body = encode_json(reply)
        message = OutboxMessage(message_id=reply.id, kind="cmd_result", priority=REPLY_PRIORITY,
                                topic=reply_to.response_topic or f"cmd_result/{request_id}", payload=body,
                                content_type="application/json", correlation_data=reply_to.correlation_data)
        with write_transaction(db):
            db["outbox"].insert({**message.__dict__, "created_at": iso(utc_now())})
            if remember:  # a busy answer is not remembered: the same request id may be sent again and run
                db["commands"].insert({"request_id": request_id, "command": name[:64],
                                       "received_at": iso(utc_now()), "ok": int(ok), "reply_message_id": reply.id,
                                       "reply": body}, ignore=True)
        self.answered += 1
        self._app.notify_outbox()
        return reply.id

    def _restart_if_asked(self, db) -> None:
        """After a change that applies at restart: let the reply reach the broker, then ask for the restart."""
        if self._restart_after is None:
            return
        reason, reply_id = self._restart_after
        self._restart_after = None
        deadline = time.monotonic() + (RESTART_REPLY_WAIT_S if self._app.config.mqtt.enabled else 0)  # an uplink runs
        while time.monotonic() < deadline:
            row = db.execute("SELECT sent_at FROM outbox WHERE message_id = ?", [reply_id]).fetchone()
            if row is None or row[0] is not None:
                break
            time.sleep(0.1)
        self._app.request_restart(reason)

    # -- the commands ---------------------------------------------------------------------------------------
    def _capture(self, args: CaptureArgs) -> dict:
        self._app.on_trigger(Trigger(source="command", at=utc_now(), subject=args.subject or None))
        return {"queued": True}

    def _status(self, args: NoArgs) -> dict:
        self._app.publish_status()
        self._app.enqueue_telemetry()
        return {"status": "published", "telemetry": "queued"}

    def _telemetry(self, args: NoArgs) -> dict:
        self._app.enqueue_telemetry()
        return {"telemetry": "queued"}

    def _config_set(self, args: ConfigSetArgs) -> dict:
        try:
            effect = remote_effect(args.key)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        path = self._app.config.source_path
        if path is None:
            raise CommandError("this station was not started from a config file; nothing to persist")
        updated = set_key(path, args.key, args.value)
        answer = {"key": args.key, "value": args.value, "persisted": str(path)}
        if effect == "live":
            self._app.apply_live(args.key, updated)
            return {**answer, "applied": True, "restart_required": False}
        return {**answer, "applied": False, "restart_required": True, "applies": "at restart",
                "restart_scheduled": True}

    def _send_media(self, args: SendMediaArgs) -> dict:
        size = self._app.enqueue_full_media(args.media_id)
        return {"media_id": args.media_id, "bytes": size, "topic": f"media/{args.media_id}/full"}

    def _model_reload(self, args: ModelReloadArgs) -> dict:
        loaded = self._app.reload_model(Path(args.card) if args.card else None)
        return {"model": loaded}


def _payload_problem(payload: bytes) -> str | None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        return f"payload of {len(payload)} bytes refused: at most {MAX_PAYLOAD_BYTES}"
    if nesting_depth(payload.decode("utf-8", errors="replace")) > MAX_DEPTH:
        return f"payload nested deeper than {MAX_DEPTH} levels refused"
    return None


def _request_id_of(payload: bytes) -> str:
    """The request id of a payload refused before validation, for the reply topic: found without parsing
    (the payload may be too large or too deep to parse), and only if it is a plain id."""
    found = _REQUEST_ID.search(payload[:MAX_PAYLOAD_BYTES])
    return found.group(1).decode() if found else f"invalid-{uuid7()}"
