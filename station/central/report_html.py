"""The joint report as the page the two parks' coordination council circulates: one self-contained HTML file
(inline CSS and SVG, no scripts, no links, nothing loaded from elsewhere) in English, Russian and Chinese, each
language a section of the same page, one after the other."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from station.central.report_i18n import LANGUAGES, name_of, text

COUNTRY_COLOURS = {"RU": "#2f6db5", "CN": "#b5482f"}
SPECIES = ("amur_tiger", "amur_leopard")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def joint_table(report: dict[str, Any], lang: str) -> str:
    """The parks' own layout: adults (cubs) per country, observed in both, total; a column per species."""
    table = report["individuals"]
    species = [s for s in SPECIES if s in table] + sorted(s for s in table if s not in SPECIES)
    rows = [[text(lang, country_key)] + [f"{table[s][code]['adults']} ({table[s][code]['cubs']})" for s in species]
            for country_key, code in (("china", "CN"), ("russia", "RU"))]
    rows.append([text(lang, "both")] + [table[s]["both"] for s in species])
    rows.append([text(lang, "total")] + [table[s]["total"] for s in species])
    return _table([text(lang, "adults_cubs")] + [name_of(lang, s) for s in species], rows)


def findings(report: dict[str, Any], lang: str) -> str:
    rows = []
    for s in SPECIES:
        moves = report["dispersal"].get(s, {})
        distance = report["border_distance_km"].get(s, {})
        far = "; ".join(f"{name_of(lang, c, 'country_')} {d['median_km']:.1f} ({d['min_km']:.1f}–{d['max_km']:.1f})"
                        for c, d in distance.items())
        rows.append([text(lang, s), report["max_crossings"].get(s, 0),
                     ", ".join(f"{way.replace('->', ' → ')}: {n}" for way, n in sorted(moves.items())) or "—",
                     far or "—"])
    return _table([text(lang, "species"), text(lang, "max_crossings"), text(lang, "dispersal"),
                   text(lang, "distance")], rows)


def crossers(report: dict[str, Any], lang: str) -> str:
    """Every animal that crossed: its id, codes, crossings and the countries of its sightings in order."""
    rows = [[c["animal"], name_of(lang, c["species"]), ", ".join(c["codes"]), c["crossings"], " ".join(c["path"])]
            for c in report["crossings"]]
    return _table([text(lang, "animal"), text(lang, "species"), text(lang, "codes"), text(lang, "crossings"),
                   text(lang, "path")], rows)


def conflicts(report: dict[str, Any], lang: str) -> str:
    if not report["conflicts"]:
        return f"<p>{escape(text(lang, 'no_conflicts'))}</p>"
    items = "".join(f"<li>{escape(c.get('code') or c.get('observation_id') or '')}: "
                    f"{escape(', '.join(c['individuals']))}</li>" for c in report["conflicts"])
    return f"<p>{escape(text(lang, 'conflicts'))}</p><ul>{items}</ul>"


def map_svg(drawing: dict[str, Any], lang: str, *, width: int = 640) -> str:
    """Stations (by country), the border, and every crossing as a line between the two stations, drawn to scale
    (kilometres east and north) over the stations' area."""
    points = [(s["latitude"], s["longitude"]) for s in drawing["stations"]]
    if not points:
        return ""
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    km_lon = 111.32 * math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * km_lon, 1.0) * 1.1
    span_y = max((max(lats) - min(lats)) * 110.574, span_x / 4)
    scale = width / span_x
    height = round(span_y * scale * 1.2)
    mid_lat, mid_lon = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (width / 2 + (lon - mid_lon) * km_lon * scale, height / 2 - (lat - mid_lat) * 110.574 * scale)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(text(lang, "map"))}">',
             f'<rect width="{width}" height="{height}" fill="#f4f2ea"/>']
    if drawing["border"]:
        line = " ".join("{:.1f},{:.1f}".format(*xy(lat, lon)) for lat, lon in drawing["border"])
        parts.append(f'<polyline points="{line}" fill="none" stroke="#333" stroke-width="2" stroke-dasharray="6 4">'
                     f'<title>{escape(text(lang, "border"))}</title></polyline>')
    for move in drawing["crossings"]:
        (x1, y1), (x2, y2) = xy(*move["from"]), xy(*move["to"])
        colour = "#7a3fa0" if move["species"] == "amur_leopard" else "#d08a00"
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                     f'stroke-opacity="0.5" stroke-width="1.5"><title>{escape(move["animal"])}</title></line>')
    for station in drawing["stations"]:
        x, y = xy(station["latitude"], station["longitude"])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                     f'fill="{COUNTRY_COLOURS.get(station["country"], "#666")}">'
                     f'<title>{escape(station["station_id"])}</title></circle>')
    parts.append(f'<text x="8" y="{height - 8}" font-size="11">{round(span_x / 1.1)} km</text></svg>')
    return "".join(parts)


def section(report: dict[str, Any], lang: str) -> str:
    span = f"{report['range']['since'] or '…'} – {report['range']['until'] or '…'}"
    return (f'<section id="{lang}" lang="{lang}"><h1>{escape(text(lang, "title"))}</h1>'
            f"<p>{escape(text(lang, 'period'))}: {escape(span)}</p>"
            f"<h2>{escape(text(lang, 'joint_table'))}</h2>{joint_table(report, lang)}"
            f"<p class=note>{escape(text(lang, 'rules'))}</p>"
            f"<h2>{escape(text(lang, 'findings'))}</h2>{findings(report, lang)}"
            f"<h2>{escape(text(lang, 'map'))}</h2>{map_svg(report['map'], lang)}"
            f"<p class=note>{escape(text(lang, 'legend'))}</p>"
            f"<h2>{escape(text(lang, 'crossers'))}</h2>{crossers(report, lang)}"
            f"<h2>{escape(text(lang, 'open_questions'))}</h2>{conflicts(report, lang)}</section>")


def render_html(report: dict[str, Any]) -> str:
    contents = " · ".join(escape(name) for name in LANGUAGES.values())
    body = "".join(section(report, lang) for lang in LANGUAGES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(text('en', 'title'))}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 60em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
th {{ background: #f1efe8; }}
section {{ border-top: 3px solid #ccc; margin-top: 2em; }}
.note {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<p>{contents}</p>
{body}
<p class=note>Generated {escape(report['generated_at'])} by trapd.</p>
</body></html>
"""
