"""What each address of the ranger's page does: read or write through ``data``/``records``, answer with a
page from ``pages`` (or JSON and images for the live parts). The HTTP plumbing is in ``handler``."""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING
from urllib.parse import quote

from station.web import data, pages, records
from station.web.auth import verify_password
from station.web.forms import parse_deployment, values_from_row
from station.web.i18n import TABLES, translator
from station.web.media import MEDIA_ID, inside
from station.web.request import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    YEAR_S,
    Request,
    Response,
    cookie,
    html,
    jpeg,
    json_response,
    local_path,
    plain,
    redirect,
)

if TYPE_CHECKING:
    from station.web.server import WebServer

log = logging.getLogger(__name__)

DONE_MESSAGES = {"started": "started_msg", "saved": "saved_msg", "ended": "ended_msg"}


class Views:
    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.station = web.station
        self._verifying = threading.Lock()  # one scrypt at a time: each takes 16 MiB on a 512 MiB Pi

    def context(self, request: Request, *, logged_in: bool = True) -> pages.PageContext:
        minutes = math.ceil(self.web.seconds_left() / 60) if logged_in else None
        return pages.PageContext(t=translator(request.language), language=request.language,
                                 station_id=self.station.config.station.id, nonce=request.nonce, path=request.path,
                                 minutes_left=minutes)

    # -- open to everyone ------------------------------------------------------------------------------------
    def login_form(self, request: Request) -> Response:
        if self.web.sessions.touch(request.session):
            return redirect("/status")
        return html(pages.login_page(self.context(request, logged_in=False)))

    def login(self, request: Request) -> Response:
        t, throttle = translator(request.language), self.web.throttle
        context = self.context(request, logged_in=False)
        wait = throttle.admit(request.client)  # counted as a failure until the password proves right
        if wait > 0:
            return html(pages.login_page(context, error=t("locked", s=math.ceil(wait))), 429)
        with self._verifying:
            ok = verify_password(request.form.get("password", ""), self.web.settings.password_hash)
        if not ok:
            self.station.stats.add("web_login_failures")
            log.warning("ranger's page: wrong password from %s", request.client)
            return html(pages.login_page(context, error=t("wrong_password")), 401)
        throttle.succeeded(request.client)
        token = self.web.sessions.create()
        self.web.keep_on()
        log.info("ranger's page: logged in from %s", request.client)
        return redirect("/status", cookie(SESSION_COOKIE, token, max_age=None))

    def language(self, request: Request, code: str) -> Response:
        if code not in TABLES:
            return plain(404, "unknown language")
        return redirect(local_path(request.query.get("next")), cookie(LANGUAGE_COOKIE, code, max_age=YEAR_S))

    # -- behind the login --------------------------------------------------------------------------------------
    def logout(self, request: Request) -> Response:
        self.web.sessions.end(request.session)
        return redirect("/login", cookie(SESSION_COOKIE, "", max_age=0))

    def status(self, request: Request) -> Response:
        station = self.station
        return html(pages.status_page(self.context(request), data.status_values(station.snapshot(), station.db_path)))

    def walk(self, request: Request) -> Response:
        station = self.station
        station.note_walk_test()
        left = station.snapshot().warmup_left_s
        return html(pages.walk_page(self.context(request), cursor=data.latest_media_id(station.db_path),
                                    triggers=self._pir_count(), warmup_left_s=max(0, math.ceil(left))))

    def walk_feed(self, request: Request) -> Response:
        after = request.query.get("after", data.FIRST_CURSOR)
        if after != data.FIRST_CURSOR and not MEDIA_ID.match(after):
            return plain(400, "bad cursor")
        self.station.note_walk_test()
        t = translator(request.language)
        frames = [{"media_id": f["media_id"], "thumb": f"/media/{f['media_id']}/thumb",
                   "caption": pages.walk_caption(f, t)} for f in data.walk_feed(self.station.db_path, after=after)]
        return json_response({"triggers": self._pir_count(), "frames": frames})

    def _pir_count(self) -> int:
        """Every time the PIR fired, including the triggers ignored while it warmed up (it did see you)."""
        stats = self.station.stats
        return stats.get("triggers") + stats.get("triggers_warmup_ignored")

    def aim(self, request: Request) -> Response:
        return html(pages.aim_page(self.context(request), available=self.web.preview is not None))

    def preview(self, request: Request) -> Response:
        if self.web.preview is None:
            return plain(404, "this station has no preview")
        frame = self.web.preview()
        if frame is None:
            response = plain(503, "camera busy with a burst")
            response.headers.append(("Retry-After", "1"))
            return response
        return jpeg(frame)

    def detections(self, request: Request) -> Response:
        sequences = data.recent_sequences(self.station.db_path)
        return html(pages.detections_page(self.context(request), sequences))

    def mark(self, request: Request) -> Response:
        event_id = request.form.get("event_id", "")
        wrong = request.form.get("wrong") == "1"
        if not records.mark_wrong(self.station.db_path, event_id, wrong=wrong, by="ranger page"):
            return plain(404, "no such sequence")
        log.info("ranger's page: sequence %s %s", event_id, "marked wrong" if wrong else "mark taken back")
        return redirect(f"/detections#e-{quote(event_id)}")

    def deployment(self, request: Request) -> Response:
        message = None
        done = request.query.get("done")
        if done in DONE_MESSAGES:
            message = translator(request.language)(DONE_MESSAGES[done], id=request.query.get("id", ""))
        return self._deployment_page(request, message=message)

    def _deployment_page(self, request: Request, *, values: dict[str, str] | None = None,
                         errors: list | None = None, message: str | None = None, status: int = 200) -> Response:
        db_path, station_id = self.station.db_path, self.station.config.station.id
        current = data.open_deployment(db_path, station_id)
        if values is None:
            values = values_from_row(current) if current else {}
        return html(pages.deployment_page(self.context(request), current=current,
                                          past=data.past_deployments(db_path, station_id), values=values,
                                          errors=errors or [], message=message), status)

    def deployment_post(self, request: Request) -> Response:
        db_path, station_id = self.station.db_path, self.station.config.station.id
        action = request.form.get("action")
        if action == "end":
            ended = records.end_deployment(db_path, station_id=station_id)
            if ended is None:
                return self._deployment_page(request, errors=[("err_no_open", {})], status=409)
            self._deployment_changed("")
            return redirect(f"/deployment?done=ended&id={quote(ended)}")
        form = parse_deployment(request.form)
        if action not in ("start", "update") or not form.ok:
            return self._deployment_page(request, values=dict(request.form), errors=form.errors, status=400)
        if action == "start":
            deployment_id = records.start_deployment(db_path, station_id=station_id, columns=form.columns)
            self._deployment_changed(deployment_id)
            return redirect(f"/deployment?done=started&id={quote(deployment_id)}")
        updated = records.update_deployment(db_path, station_id=station_id, columns=form.columns)
        if updated is None:
            return self._deployment_page(request, values=dict(request.form), errors=[("err_no_open", {})],
                                         status=409)
        return redirect(f"/deployment?done=saved&id={quote(updated)}")

    def _deployment_changed(self, deployment_id: str) -> None:
        log.info("ranger's page: deployment %s", deployment_id or "ended")
        if self.web.on_deployment is not None:
            self.web.on_deployment(deployment_id)

    def media(self, request: Request, media_id: str, *, thumbnail: bool) -> Response:
        relative = data.media_path(self.station.db_path, media_id)
        path = inside(self.station.media.root, relative) if relative else None
        if path is None:
            return plain(404, "no such frame (or its file was deleted to free space)")
        body = self.web.thumbnails.get(media_id, path) if thumbnail else path.read_bytes()
        if body is None:
            return plain(404, "frame unreadable")
        response = jpeg(body)
        response.headers.append(("Cache-Control", "private, max-age=86400"))
        return response
