"""What the parks report to each other over a time range, from the central store.

- camera traps and stations per country (registered stations, those active in the range, deployments);
- detections per species per country (event-level observations, blanks excluded; a detection known from a
  LoRa summary and its full record is one observation, so it counts once);
- individuals seen in both countries, and border crossings per individual: consecutive sightings (in
  time order) at stations in different countries.

``build_report`` returns plain data (the JSON form); ``render_text`` lays it out for a terminal and
``report_html.render_html`` as a self-contained page with an inline SVG chart.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from station.central.export import Selection
from station.ids import iso
from station.vision.species import catalogue

if TYPE_CHECKING:
    import psycopg

_STATIONS = """SELECT p.country, string_agg(DISTINCT s.park_id, ',' ORDER BY s.park_id), count(*),
        count(*) FILTER (WHERE EXISTS (SELECT 1 FROM observations o WHERE o.station_id = s.station_id AND {where})),
        (SELECT count(DISTINCT o.deployment_id) FROM observations o JOIN stations s2 USING (station_id)
            LEFT JOIN parks p2 USING (park_id) WHERE p2.country = p.country AND {where})
    FROM stations s JOIN parks p USING (park_id) WHERE s.registered GROUP BY p.country ORDER BY p.country"""

_DETECTIONS = """SELECT o.species_key, coalesce(p.country, '??'), count(*)
    FROM observations o JOIN stations s USING (station_id) LEFT JOIN parks p USING (park_id)
    WHERE o.observation_type <> 'blank' AND {where} GROUP BY 1, 2 ORDER BY 1, 2"""

_SIGHTINGS = """SELECT o.individual_id, i.species_key, i.name, o.event_start, coalesce(p.country, '??'), o.station_id
    FROM observations o JOIN individuals i USING (individual_id) JOIN stations s ON s.station_id = o.station_id
    LEFT JOIN parks p ON p.park_id = s.park_id
    WHERE {where} ORDER BY o.individual_id, o.event_start, o.observation_id"""


def build_report(conn: psycopg.Connection, *, since: datetime | None = None,
                 until: datetime | None = None) -> dict[str, Any]:
    selection = Selection(since=since, until=until)
    where, params = selection.where("o")
    stations = [{"country": country, "parks": parks.split(","), "stations": total, "active_stations": active,
                 "deployments": deployments}
                for country, parks, total, active, deployments in
                conn.execute(_STATIONS.format(where=where), params + params).fetchall()]
    unregistered = conn.execute("SELECT count(*) FROM stations WHERE NOT registered").fetchone()[0]
    individuals = _individuals(conn.execute(_SIGHTINGS.format(where=where), params).fetchall())
    return {"schema": "central-report/1.0", "generated_at": iso(datetime.now(timezone.utc)),
            "range": {"since": since and iso(since), "until": until and iso(until)},
            "countries": sorted({row["country"] for row in stations}),
            "stations": stations, "unregistered_stations": unregistered,
            "detections": _detections(conn.execute(_DETECTIONS.format(where=where), params).fetchall()),
            "individuals": individuals,
            "individuals_in_both_countries": [i["individual_id"] for i in individuals if len(i["countries"]) > 1],
            "border_crossings": sum(i["crossings"] for i in individuals)}


def _detections(rows: list[tuple]) -> list[dict[str, Any]]:
    names = catalogue()
    table: dict[str, dict[str, int]] = {}
    for species, country, count in rows:
        table.setdefault(species, {})[country] = count
    result = []
    for species, counts in table.items():
        entry = names.get(species)
        result.append({"species": species, "name": entry.en if entry else species,
                       "scientific_name": (entry.latin or None) if entry else None,
                       "by_country": counts, "total": sum(counts.values())})
    return sorted(result, key=lambda item: (-item["total"], item["species"]))


def crossings(countries: list[str]) -> int:
    """Consecutive sightings on different sides of the border."""
    return sum(1 for before, after in zip(countries, countries[1:]) if before != after)


def _individuals(rows: list[tuple]) -> list[dict[str, Any]]:
    grouped: dict[str, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    result = []
    for individual_id, sightings in grouped.items():
        path = [country for *_, country, _station in sightings]
        by_country: dict[str, int] = {}
        for country in path:
            by_country[country] = by_country.get(country, 0) + 1
        result.append({"individual_id": individual_id, "species": sightings[0][1], "name": sightings[0][2],
                       "sightings": len(sightings), "by_country": by_country, "countries": sorted(by_country),
                       "crossings": crossings(path), "first_seen": iso(sightings[0][3]),
                       "last_seen": iso(sightings[-1][3]), "path": path})
    return sorted(result, key=lambda item: (-item["crossings"], item["individual_id"]))


def render_text(report: dict[str, Any]) -> str:
    lines = [f"Cross-border report {report['range']['since'] or 'start'} .. {report['range']['until'] or 'now'}",
             "", "Stations per country"]
    for row in report["stations"]:
        lines.append(f"  {row['country']}  {row['stations']:>6} stations ({', '.join(row['parks'])}), "
                     f"{row['active_stations']} active, {row['deployments']} deployments with detections")
    if report["unregistered_stations"]:
        lines.append(f"  (+{report['unregistered_stations']} stations not in the registry)")
    countries = report["countries"]
    lines += ["", "Detections per species per country",
              "  " + f"{'species':<22}" + "".join(f"{c:>8}" for c in countries) + f"{'total':>8}"]
    for row in report["detections"]:
        cells = "".join(f"{row['by_country'].get(c, 0):>8}" for c in countries)
        lines.append(f"  {row['species']:<22}{cells}{row['total']:>8}")
    lines += ["", f"Individuals seen in both countries: {len(report['individuals_in_both_countries'])}"]
    for item in report["individuals"]:
        seen = ", ".join(f"{c} {n}" for c, n in sorted(item["by_country"].items()))
        lines.append(f"  {item['individual_id']:<14} {item['species']:<14} sightings {item['sightings']:>3} "
                     f"({seen}), border crossings {item['crossings']}")
    lines.append(f"Border crossings in total: {report['border_crossings']}")
    return "\n".join(lines) + "\n"
