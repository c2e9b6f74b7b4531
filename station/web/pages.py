"""HTML of the ranger's page: one function per page, every value escaped, every string from ``i18n``.

Pages are rendered on the station (no client-side framework); the inline script only adds the live parts
(walk-test feed, aiming preview, phone GPS, clock check).
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Any
from urllib.parse import quote

from station.camtrapdp.tables import FEATURE_TYPES
from station.web.assets import CSS, JS
from station.web.forms import FormError
from station.web.i18n import LANGUAGES, Translate, species_name
from station.wire.ids import parse_iso

TABS = (("status", "/status"), ("walk", "/walk"), ("aim", "/aim"), ("deployment", "/deployment"),
        ("detections", "/detections"))


@dataclasses.dataclass(frozen=True)
class PageContext:
    """What every page needs besides its own content."""

    t: Translate
    language: str
    station_id: str
    nonce: str
    path: str
    minutes_left: int | None = None  # None: not logged in (no tabs, no footer)


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def local_time(text: str | None) -> str:
    """A stored UTC timestamp in the station's local time zone, to the second."""
    if not text:
        return ""
    return parse_iso(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def layout(ctx: PageContext, page: str, body: str) -> str:
    t = ctx.t
    langs = "".join(f'<a href="/lang/{code}?next={quote(ctx.path)}" lang="{code}"'
                    f'{" class=on" if code == ctx.language else ""}>{label}</a>'
                    for code, label in LANGUAGES.items())
    tabs = footer = ""
    if ctx.minutes_left is not None:
        tabs = "<nav class=tabs>" + "".join(
            f'<a href="{href}"{" class=on" if name == page else ""}>{esc(t("tab_" + name))}</a>'
            for name, href in TABS) + "</nav>"
        footer = (f'<footer><form method=post action="/logout"><button class=plain>{esc(t("log_out"))}</button>'
                  f'</form>{esc(t("page_off_in", min=ctx.minutes_left))}</footer>')
    return (f'<!doctype html><html lang="{esc(ctx.language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{esc(t("title"))} · {esc(ctx.station_id)}</title><style>{CSS}</style></head>'
            f'<body data-page="{esc(page)}"><header><b>{esc(ctx.station_id)}</b><span>{langs}</span></header>'
            f'{tabs}<main>{body}</main>{footer}<script nonce="{esc(ctx.nonce)}">{JS}</script></body></html>')


def login_page(ctx: PageContext, *, error: str | None = None) -> str:
    t = ctx.t
    note = f'<p class="msg error" role=alert>{esc(error)}</p>' if error else ""
    return layout(ctx, "login", (
        f'<h1>{esc(t("title"))}</h1>{note}<form method=post action="/login" class=card>'
        f'<input type=hidden name=username value=ranger autocomplete=username>'
        f'<label for=password>{esc(t("password"))}</label>'
        f'<input id=password name=password type=password autocomplete=current-password required autofocus>'
        f'<button>{esc(t("log_in"))}</button></form><p><small>{esc(t("login_cert_hint"))}</small></p>'))


def _item(label: str, value: str) -> str:
    return f"<dt>{label}</dt><dd>{value}</dd>"


def _volts(millivolts: int | None, t: Translate) -> str:
    return esc(t("no_reading")) if millivolts is None else f"{millivolts / 1000:.2f} V"


def _celsius(value: float | None, t: Translate) -> str:
    return esc(t("no_reading")) if value is None else f"{value:.1f} °C"


def _when(text: str | None) -> str:
    """A time for a narrow column: date and time each kept on one line."""
    if not text:
        return ""
    day, clock = local_time(text).split(" ")
    return f"<span class=nw>{day}</span> <span class=nw>{clock}</span>"


def _bytes(count: int) -> str:
    return f"{count / 1e9:.1f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 1440}d {minutes // 60 % 24}h {minutes % 60}m" if minutes >= 1440 else \
        f"{minutes // 60}h {minutes % 60}m"


def status_page(ctx: PageContext, s: dict[str, Any]) -> str:
    t = ctx.t
    free = _bytes(s["disk_free"])
    if s["disk_low"]:
        free = f'<span class=bad>{esc(t("low"))}</span> {free}'
    storage = _item(esc(t("free")), free) + _item(esc(t("total")), _bytes(s["disk_total"]))
    power = _item(esc(t("battery")), _volts(s["battery_mv"], t)) + _item(esc(t("solar")), _volts(s["solar_mv"], t))
    temps = (_item(esc(t("enclosure")), _celsius(s["temperature_c"], t))
             + _item(esc(t("cpu_temperature")), _celsius(s["cpu_temperature_c"], t)))
    queues = "".join(_item(esc(t(f"queue_{name}")), str(depth)) for name, depth in s["queues"].items())
    queues += _item(esc(t("outbox_pending")), str(s["outbox_pending"]))
    activity = (_item(esc(t("triggers_total")), str(s["triggers"]))
                + _item(esc(t("sequences_total")), str(s["sequences"]))
                + _item(esc(t("last_sequence")), _when(s["last_sequence"]) or esc(t("none"))))
    clock = (_item(esc(t("station_time")), _when(s["station_time"]))
             + f'<dd class=wide id=clock data-unix-ms="{s["station_unix_ms"]}" data-ok="{esc(t("clock_ok"))}" '
               f'data-diff="{esc(t("phone_diff", s="{s}"))}"></dd>'
             + _item(esc(t("uptime")), _duration(s["uptime_s"])))
    station = (_item(esc(t("station")), f'{esc(s["station_id"])} ({esc(s["park"])})')
               + _item(esc(t("current_deployment")), esc(s["deployment_id"] or t("none")))
               + _item(esc(t("model")), esc(s["model"] or t("none"))))
    cards = [("power", power), ("storage", storage), ("temperature", temps),
             ("link", _links(s, t)), ("queues", queues), ("activity", activity), ("clock", clock), ("station", station)]
    body = f'<h1>{esc(t("tab_status"))}</h1>' + "".join(
        f'<section class=card id="s-{name}"><h2>{esc(t(name))}</h2><dl>{items}</dl></section>' for name, items in cards)
    return layout(ctx, "status", body)


def _links(s: dict[str, Any], t: Translate) -> str:
    if s["mqtt"] is None:
        mqtt = esc(t("off"))
    else:
        up = bool(s["mqtt"])
        mqtt = f'<span class={"good" if up else "bad"}>{esc(t("connected" if up else "not_connected"))}</span>'
    lora = s["lora"]
    if lora is None:
        lora_text = esc(t("off"))
    else:
        lora_text = esc(t("lora_standby") if lora["standby"] else t("lora_active", region=lora["region"]))
        if lora["airtime_pct"] is not None:
            lora_text += f'<br><small>{esc(t("airtime_left", pct=lora["airtime_pct"]))}</small>'
    return _item(esc(t("mqtt")), mqtt) + _item(esc(t("lora")), lora_text)


def walk_page(ctx: PageContext, *, cursor: str, triggers: int, warmup_left_s: int) -> str:
    t = ctx.t
    warmup = f'<p class=msg>{esc(t("walk_warmup", s=warmup_left_s))}</p>' if warmup_left_s > 0 else ""
    return layout(ctx, "walk", (
        f'<h1>{esc(t("tab_walk"))}</h1><p>{esc(t("walk_intro"))}</p>{warmup}'
        f'<div class=card><h2>{esc(t("walk_triggers"))}</h2><div class=count id=count>0</div></div>'
        f'<div class=flash id=motion hidden>{esc(t("walk_motion"))}</div>'
        f'<p class=msg id=waiting>{esc(t("walk_waiting"))}</p>'
        f'<div id=frames data-after="{esc(cursor)}" data-base="{triggers}"></div>'))


def walk_caption(frame: dict[str, Any], t: Translate) -> str:
    """The line under a walk-test frame (sent as text in the feed, so the script needs no translations)."""
    when = local_time(frame["timestamp"])[-8:]
    return f'{when} · {t("burst", burst=frame["burst_index"] + 1, frame=frame["frame_index"] + 1)}'


def aim_page(ctx: PageContext, *, available: bool) -> str:
    t = ctx.t
    if not available:
        return layout(ctx, "aim-off", f'<h1>{esc(t("tab_aim"))}</h1><p class=msg>{esc(t("aim_unavailable"))}</p>')
    return layout(ctx, "aim", (
        f'<h1>{esc(t("tab_aim"))}</h1><p>{esc(t("aim_intro"))}</p>'
        f'<p class=msg id=busy hidden>{esc(t("aim_busy"))}</p>'
        f'<div class=aim><img id=preview class=shot alt="" width=480 height=270></div>'))


def detections_page(ctx: PageContext, sequences: list[dict[str, Any]]) -> str:
    t = ctx.t
    if not sequences:
        body = f'<p class=msg>{esc(t("no_sequences"))}</p>'
    else:
        body = "".join(_sequence(ctx, event) for event in sequences)
    return layout(ctx, "detections", f'<h1>{esc(t("last_sequences"))}</h1>{body}')


def _sequence(ctx: PageContext, event: dict[str, Any]) -> str:
    t, wrong = ctx.t, event["verdict"] == "wrong"
    thumb = (f'<img class=shot loading=lazy alt="" src="/media/{esc(event["thumb_media_id"])}/thumb">'
             if event["thumb_media_id"] else "<div></div>")
    if event["state"] != "closed":
        seen = f'<p>{esc(t("in_progress"))}</p>'
    else:
        seen = "".join(_observation(ctx, o, wrong) for o in event["observations"])
    button = (f'<input type=hidden name=wrong value="{0 if wrong else 1}">'
              f'<button class=plain>{esc(t("undo" if wrong else "mark_wrong"))}</button>')
    mark = f'<p><span class=bad>{esc(t("marked_wrong"))}</span></p>' if wrong else ""
    return (f'<article class="card seq" id="e-{esc(event["event_id"])}">{thumb}<div>'
            f'<p><small>{esc(local_time(event["start"]))} · {esc(t("frames", n=event["frames"]))}</small></p>'
            f'{seen}{mark}<form method=post action="/detections/mark"><input type=hidden name=event_id '
            f'value="{esc(event["event_id"])}">{button}</form></div></article>')


def _observation(ctx: PageContext, observation: dict[str, Any], wrong: bool) -> str:
    name = species_name(observation["species_key"] or observation["observation_type"], ctx.language)
    confidence = observation["confidence"]
    score = f' {esc(ctx.t("confidence", pct=round(100 * confidence)))}' if confidence is not None else ""
    return f'<p class="species{" wrong" if wrong else ""}"><b>{esc(name)}</b>{score}</p>'


def deployment_page(ctx: PageContext, *, current: dict[str, Any] | None, past: list[dict[str, Any]],
                    values: dict[str, str], errors: list[FormError], message: str | None) -> str:
    t = ctx.t
    notes = "".join(f'<p class="msg error" role=alert>{esc(_problem(t, key, detail))}</p>' for key, detail in errors)
    if message:
        notes = f'<p class=msg role=status>{esc(message)}</p>' + notes
    state = (t("deployment_open", id=current["deployment_id"], start=local_time(current["start"]))
             if current else t("deployment_none"))
    action = "update" if current else "start"
    submit = t("save_changes") if current else t("start_deployment")
    end = (f'<form method=post action="/deployment" data-confirm="{esc(t("end_confirm"))}">'
           f'<input type=hidden name=action value=end><button class=danger id=end>{esc(t("end_deployment"))}</button>'
           f'</form>') if current else ""
    earlier = "".join(f'<li>{esc(d["deployment_id"])}: {esc(local_time(d["start"]))} – {esc(local_time(d["end"]))}'
                      f'{" · " + esc(d["location_name"]) if d["location_name"] else ""}</li>' for d in past)
    earlier = f'<section class=card><h2>{esc(t("past_deployments"))}</h2><ul>{earlier}</ul></section>' if past else ""
    return layout(ctx, "deployment", (
        f'<h1>{esc(t("tab_deployment"))}</h1>{notes}<p class=msg id=state>{esc(state)}</p>'
        f'<form method=post action="/deployment" class=card id=deployment-form>'
        f'<input type=hidden name=action value={action}>{_deployment_fields(t, values)}'
        f'<button id=submit>{esc(submit)}</button></form>{end}{earlier}'))


def _problem(t: Translate, key: str, values: dict[str, Any]) -> str:
    if "field" in values:
        values = {**values, "field": t(values["field"])}
    return t(key, **values)


def _deployment_fields(t: Translate, v: dict[str, str]) -> str:
    def field(name: str, kind: str = "text", extra: str = "") -> str:
        return (f'<div><label for={name}>{esc(t(name))}</label><input id={name} name={name} type={kind} '
                f'value="{esc(v.get(name, ""))}" {extra}></div>')

    number = 'inputmode=decimal autocomplete=off'
    features = "".join(f'<option value="{ft}"{" selected" if v.get("feature_type") == ft else ""}>'
                       f'{esc(t("ft_" + ft))}</option>' for ft in FEATURE_TYPES)
    return (field("location_name", extra="maxlength=100")
            + f'<button type=button class=plain id=gps data-wait="{esc(t("gps_wait"))}" '
              f'data-ok="{esc(t("gps_ok", m="{m}"))}" data-failed="{esc(t("gps_failed", error="{error}"))}" '
              f'data-insecure="{esc(t("gps_insecure"))}">{esc(t("use_gps"))}</button><p id=gpsmsg role=status></p>'
            + '<div class=row>' + field("latitude", extra=number + " required")
            + field("longitude", extra=number) + '</div>'
            + '<div class=row>' + field("accuracy", extra=number) + field("camera_height", extra=number) + '</div>'
            + '<div class=row>' + field("heading", extra=number) + field("tilt", extra=number) + '</div>'
            + field("habitat", extra="maxlength=200")
            + f'<label for=feature_type>{esc(t("feature_type"))}</label><select id=feature_type name=feature_type>'
              f'<option value="">{esc(t("feature_none"))}</option>{features}</select>'
            + f'<label for=notes>{esc(t("notes"))}</label><textarea id=notes name=notes rows=3 maxlength=1000>'
              f'{esc(v.get("notes", ""))}</textarea>'
            + field("setup_by", extra="maxlength=100 autocomplete=name"))
