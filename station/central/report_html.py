"""The cross-border report as one self-contained HTML page: inline CSS and an inline SVG chart, no assets."""

from __future__ import annotations

from html import escape
from typing import Any

COUNTRY_COLOURS = ("#b5482f", "#2f6db5", "#4a8f3a", "#8a5bb0", "#c99a2e")
COUNTRY_NAMES = {"RU": "Russia", "CN": "China"}


def bar_chart_svg(detections: list[dict[str, Any]], countries: list[str], *, limit: int = 12) -> str:
    """Grouped horizontal bars: detections per species (rows) and country (colours)."""
    rows = detections[:limit]
    label_w, bar_h, gap, width = 170, 12, 10, 640
    group_h = bar_h * max(1, len(countries)) + gap
    height = 40 + group_h * max(1, len(rows))
    peak = max((row["by_country"].get(c, 0) for row in rows for c in countries), default=0) or 1
    scale = (width - label_w - 60) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Detections per species and country" font-family="sans-serif" font-size="12">']
    for i, country in enumerate(countries):
        colour = COUNTRY_COLOURS[i % len(COUNTRY_COLOURS)]
        parts.append(f'<rect x="{label_w + i * 110}" y="6" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{label_w + i * 110 + 16}" y="16">{escape(COUNTRY_NAMES.get(country, country))}</text>')
    for r, row in enumerate(rows):
        top = 30 + r * group_h
        parts.append(f'<text x="{label_w - 6}" y="{top + bar_h * len(countries) / 2 + 4}" '
                     f'text-anchor="end">{escape(row["name"])}</text>')
        for i, country in enumerate(countries):
            value = row["by_country"].get(country, 0)
            y, w = top + i * bar_h, value * scale
            colour = COUNTRY_COLOURS[i % len(COUNTRY_COLOURS)]
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colour}">'
                         f'<title>{escape(row["name"])}, {escape(country)}: {value}</title></rect>'
                         f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    countries = report["countries"]
    span = f"{report['range']['since'] or 'start'} – {report['range']['until'] or 'now'}"
    stations = _table(["Country", "Parks", "Stations", "Active", "Deployments with detections"],
                      [[r["country"], ", ".join(r["parks"]), r["stations"], r["active_stations"], r["deployments"]]
                       for r in report["stations"]])
    detections = _table(["Species", "Scientific name", *countries, "Total"],
                        [[d["name"], d["scientific_name"] or "", *(d["by_country"].get(c, 0) for c in countries),
                          d["total"]] for d in report["detections"]])
    individuals = _table(["Individual", "Species", "Sightings", "By country", "Border crossings", "First", "Last"],
                         [[i["individual_id"], i["species"], i["sightings"],
                           ", ".join(f"{c} {n}" for c, n in sorted(i["by_country"].items())), i["crossings"],
                           i["first_seen"], i["last_seen"]] for i in report["individuals"]])
    both = ", ".join(report["individuals_in_both_countries"]) or "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Cross-border camera-trap report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 60em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
th {{ background: #f1efe8; }}
</style></head><body>
<h1>Cross-border camera-trap report</h1>
<p>Period: {escape(span)}. Generated {escape(report['generated_at'])}.</p>
<h2>Stations per country</h2>{stations}
<h2>Detections per species per country</h2>
{bar_chart_svg(report['detections'], countries)}
{detections}
<h2>Individuals and border crossings</h2>
<p>Seen in both countries: {escape(both)}. Border crossings in total: {report['border_crossings']}.</p>
{individuals}
</body></html>
"""
