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

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from station.central import catalogue as codes_catalogue
from station.central import population
from station.central.db import scalar
from station.central.export import Selection
from station.central.population import Point
from station.vision.species import catalogue
from station.wire.ids import iso

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

_SIGHTINGS = """SELECT o.individual_id, o.event_start, coalesce(p.country, '??'), o.station_id, s.latitude,
        s.longitude, o.life_stage
    FROM observations o JOIN stations s ON s.station_id = o.station_id LEFT JOIN parks p ON p.park_id = s.park_id
    WHERE o.individual_id IS NOT NULL AND {where} ORDER BY o.event_start, o.observation_id"""
_DISPUTED = "SELECT individual_id, other_id FROM individual_decisions WHERE kind = 'claim'"


def build_report(conn: psycopg.Connection, *, since: datetime | None = None, until: datetime | None = None,
                 border: Sequence[Point] | None = None) -> dict[str, Any]:
    selection = Selection(since=since, until=until)
    where, params = selection.where("o")
    stations = [{"country": country, "parks": parks.split(","), "stations": total, "active_stations": active,
                 "deployments": deployments}
                for country, parks, total, active, deployments in
                conn.execute(_STATIONS.format(where=where), params + params).fetchall()]
    unregistered = scalar(conn, "SELECT count(*) FROM stations WHERE NOT registered")
    countries = sorted({row["country"] for row in stations} | {"CN", "RU"})
    found = load_animals(conn, where, params)
    most, most_by, crossed = population.crossing_summary(found)
    sightings = [_animal_summary(animal) for animal in found]
    return {"schema": "central-report/2.0", "generated_at": iso(datetime.now(UTC)),
            "range": {"since": since and iso(since), "until": until and iso(until)},
            "countries": countries, "stations": stations, "unregistered_stations": unregistered,
            "detections": _detections(conn.execute(_DETECTIONS.format(where=where), params).fetchall()),
            "individuals": population.joint_table(found, ["CN", "RU"]),
            "max_crossings": most, "max_crossings_by": most_by, "crossings": crossed,
            "dispersal": population.dispersal(found),
            "border_distance_km": population.border_distances(found, border),
            "conflicts": codes_catalogue.conflicts(conn),
            "map": _map(conn, found, border),
            "individual_sightings": sightings,
            "individuals_in_both_countries": [i["individual_id"] for i in sightings if len(i["countries"]) > 1],
            "border_crossings": sum(i["crossings"] for i in sightings)}


def load_animals(conn: psycopg.Connection, where: str, params: list) -> list[population.Animal]:
    """Every animal with a sighting in the range: merges followed, disputed records counted once."""
    individuals = {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT individual_id, species_key, merged_into FROM individuals")}
    codes = conn.execute("SELECT country, code, individual_id FROM catalogue_codes").fetchall()
    sightings = [population.IndividualSighting(*row) for row in conn.execute(_SIGHTINGS.format(where=where), params)]
    links = [(a, b) for a, b in conn.execute(_DISPUTED) if a in individuals and b in individuals]
    return population.animals(individuals, codes, sightings, links)


def _map(conn: psycopg.Connection, found: list[population.Animal], border: Sequence[Point] | None) -> dict:
    """What the report page draws: registered stations, the border, and each crossing as a line."""
    stations = [{"station_id": sid, "country": country, "latitude": lat, "longitude": lon}
                for sid, country, lat, lon in conn.execute(
                    "SELECT s.station_id, p.country, s.latitude, s.longitude FROM stations s JOIN parks p "
                    "USING (park_id) WHERE s.latitude IS NOT NULL AND s.longitude IS NOT NULL ORDER BY 1")]
    moves = []
    for animal in found:
        for before, after in itertools.pairwise(animal.sightings):
            if before.country != after.country and None not in (before.latitude, after.latitude):
                moves.append({"animal": animal.animal_id, "species": animal.species,
                              "from": [before.latitude, before.longitude], "to": [after.latitude, after.longitude]})
    return {"stations": stations, "border": [list(point) for point in border or []], "crossings": moves}


def _animal_summary(animal: population.Animal) -> dict[str, Any]:
    path = animal.countries()
    by_country: dict[str, int] = {}
    for country in path:
        by_country[country] = by_country.get(country, 0) + 1
    return {"individual_id": animal.animal_id, "species": animal.species, "codes": animal.codes,
            "records": animal.members, "sightings": len(path), "by_country": by_country,
            "countries": sorted(by_country), "crossings": population.crossings(path),
            "first_seen": iso(animal.sightings[0].at), "last_seen": iso(animal.sightings[-1].at), "path": path}


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


SPECIES_TITLES = {"amur_tiger": "tigers", "amur_leopard": "leopards"}


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
    lines += ["", *joint_table_lines(report)]
    lines += ["", *findings_lines(report)]
    return "\n".join(lines) + "\n"


def joint_table_lines(report: dict[str, Any]) -> list[str]:
    """The parks' table: identified adults (cubs) per country, observed in both, total."""
    table = report["individuals"]
    species = [key for key in ("amur_tiger", "amur_leopard") if key in table] + sorted(
        key for key in table if key not in SPECIES_TITLES)
    head = "  " + f"{'':<28}" + "".join(f"{SPECIES_TITLES.get(k, k):>14}" for k in species)
    lines = ["Identified adults (cubs)", head]
    for label, country in (("China", "CN"), ("Russia", "RU")):
        cells = "".join(f"{table[k][country]['adults']:>9} ({table[k][country]['cubs']:>2})" for k in species)
        lines.append(f"  {label:<28}{cells}")
    lines.append(f"  {'observed in both countries':<28}" + "".join(f"{table[k]['both']:>14}" for k in species))
    lines.append(f"  {'total':<28}" + "".join(f"{table[k]['total']:>14}" for k in species))
    return lines


def findings_lines(report: dict[str, Any]) -> list[str]:
    lines = ["Border crossings (most by one animal)"]
    for key, count in sorted(report["max_crossings"].items()):
        lines.append(f"  {key:<14} {count:>3}  {report['max_crossings_by'].get(key) or ''}")
    lines.append("Young animals dispersing across the border (first seen as juvenile or subadult)")
    for key, moves in sorted(report["dispersal"].items()):
        lines.append(f"  {key:<14} " + ", ".join(f"{way} {n}" for way, n in sorted(moves.items())))
    if report["border_distance_km"]:
        lines.append("Distance from the border, km (median of each animal's sightings: median, range)")
        for key, by_country in report["border_distance_km"].items():
            for country, d in by_country.items():
                lines.append(f"  {key:<14} {country}  {d['median_km']:>6.1f}  ({d['min_km']:.1f}-{d['max_km']:.1f}, "
                             f"{d['animals']} animals)")
    lines.append(f"Border crossings in total: {report['border_crossings']} "
                 f"({len(report['individuals_in_both_countries'])} animals seen in both countries)")
    lines.append(f"Conflicts for the experts: {len(report['conflicts'])}")
    for conflict in report["conflicts"]:
        what = conflict.get("code") or f"sighting {conflict.get('observation_id')}"
        lines.append(f"  {what}: claimed for {', '.join(conflict['individuals'])}")
    return lines
