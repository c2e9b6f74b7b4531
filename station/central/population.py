"""The joint count of individual cats in the parks' own layout: identified adults (cubs) per country, seen in
both, in total; border crossings; young animals dispersing across the border; distance from the border.

Pure functions over rows loaded from the store (``report.py`` loads them), so the rules are tested alone:

- **One animal, one count.** Merges are followed (``merged_into``); individuals still linked by a shared
  catalogue code or a sighting two catalogues claim (a conflict the experts have not settled) are counted
  once, as one animal, and listed as conflicts. Nothing is ever counted twice. A code claimed for animals of
  two species links nothing (one animal has one species): each is counted, and the conflict is listed.
- **Adults and cubs** per country: an animal counts as an adult in a country where it was seen as an adult or
  a subadult (an independent animal), and as a cub in a country where every sighting of it was as a
  juvenile. "Observed in both countries" and "total" count adults, as the parks' joint table does.
- **Crossings:** consecutive sightings, in time order, in different countries.
- **Dispersal:** an animal first seen as a juvenile or subadult in one country and later seen in the other.
- **Distance from the border:** each sighting's station to the border line (``[report] border`` in
  central.toml, a list of [latitude, longitude] points); per animal the median over its sightings in a
  country; per country the median and range of those.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

YOUNG = ("juvenile", "subadult")
INDEPENDENT = ("adult", "subadult")
Point = tuple[float, float]  # latitude, longitude


@dataclasses.dataclass(frozen=True)
class IndividualSighting:
    individual_id: str
    at: datetime
    country: str
    station_id: str
    latitude: float | None
    longitude: float | None
    life_stage: str | None


@dataclasses.dataclass
class Animal:
    """One animal as counted: its canonical individual and every record folded into it."""

    animal_id: str
    species: str
    members: list[str]
    codes: list[str]
    sightings: list[IndividualSighting]

    def countries(self) -> list[str]:
        return [s.country for s in self.sightings]

    def adult_in(self) -> set[str]:
        return {s.country for s in self.sightings if (s.life_stage or "adult") in INDEPENDENT}

    def cub_in(self) -> set[str]:
        seen = {s.country for s in self.sightings}
        return seen - self.adult_in()


class _Links:
    """Union-find over individual ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def canonical_ids(individuals: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """individual id -> the id it stands for after merges (``individuals``: id -> (species, merged_into))."""
    result: dict[str, str] = {}
    for individual in individuals:
        current, seen = individual, set()
        while (merged_into := individuals.get(current, ("", None))[1]) is not None and current not in seen:
            seen.add(current)
            current = merged_into
        result[individual] = current
    return result


def animals(individuals: dict[str, tuple[str, str | None]], codes: Iterable[tuple[str, str, str]],
            sightings: Iterable[IndividualSighting], links: Iterable[tuple[str, str]] = ()) -> list[Animal]:
    """Fold records into animals: merges, then shared codes and disputed sightings (``links``)."""
    now = canonical_ids(individuals)
    union = _Links()
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    code_list = list(codes)
    for country, code, individual in code_list:
        owners[(country, code)].append(now.get(individual, individual))
    species = {individual: row[0] for individual, row in individuals.items()}
    for holders in owners.values():  # a code claimed for a tiger and a leopard joins neither: two animals
        first: dict[str, str] = {}
        for holder in holders:
            union.join(first.setdefault(species.get(holder, ""), holder), holder)
    for a, b in links:
        if species.get(now.get(a, a)) == species.get(now.get(b, b)):
            union.join(now.get(a, a), now.get(b, b))
    grouped: dict[str, Animal] = {}
    for individual in individuals:
        root = union.find(now[individual])
        animal = grouped.setdefault(root, Animal(root, individuals[root][0] if root in individuals else "",
                                                 [], [], []))
        animal.members.append(individual)
    for country, code, individual in code_list:
        grouped[union.find(now.get(individual, individual))].codes.append(f"{country}:{code}")
    for sighting in sightings:
        seen_animal = grouped.get(union.find(now.get(sighting.individual_id, sighting.individual_id)))
        if seen_animal is not None:
            seen_animal.sightings.append(sighting)
    for animal in grouped.values():
        animal.sightings.sort(key=lambda s: (s.at, s.station_id))
        animal.members.sort()
        animal.codes = sorted(set(animal.codes))
    return [a for a in sorted(grouped.values(), key=lambda a: a.animal_id) if a.sightings]


def crossings(countries: Sequence[str]) -> int:
    """Consecutive sightings on different sides of the border."""
    return sum(1 for before, after in itertools.pairwise(countries) if before != after)


def joint_table(found: list[Animal], countries: Sequence[str]) -> dict[str, Any]:
    """``{species: {country: {adults, cubs}, both, total}}``, the parks' published table."""
    table: dict[str, Any] = {}
    for animal in found:
        row = table.setdefault(animal.species, {**{c: {"adults": 0, "cubs": 0} for c in countries},
                                                "both": 0, "total": 0})
        adult_in = animal.adult_in()
        for country in countries:
            row[country]["adults"] += country in adult_in
            row[country]["cubs"] += country in animal.cub_in()
        row["both"] += all(c in adult_in for c in countries)
        row["total"] += bool(adult_in)
    return table


def crossing_summary(found: list[Animal]) -> tuple[dict[str, int], dict[str, str | None], list[dict[str, Any]]]:
    """The most crossings by one animal per species, who made them, and every animal that crossed."""
    most: dict[str, int] = {}
    by: dict[str, str | None] = {}
    crossed = []
    for animal in found:
        count = crossings(animal.countries())
        if count > most.get(animal.species, -1):
            most[animal.species], by[animal.species] = count, animal.animal_id if count else None
        if count:
            crossed.append({"animal": animal.animal_id, "species": animal.species, "crossings": count,
                            "codes": animal.codes, "path": animal.countries()})
    return most, by, sorted(crossed, key=lambda item: (-item["crossings"], item["animal"]))


def dispersal(found: list[Animal]) -> dict[str, dict[str, int]]:
    """``{species: {"RU->CN": n}}``: first seen young in one country, seen later in another."""
    moves: dict[str, dict[str, int]] = {}
    for animal in found:
        first = animal.sightings[0]
        if first.life_stage not in YOUNG:
            continue
        later = {s.country for s in animal.sightings[1:]} - {first.country}
        for country in sorted(later):
            key = f"{first.country}->{country}"
            moves.setdefault(animal.species, {})[key] = moves.get(animal.species, {}).get(key, 0) + 1
    return moves


def border_distances(found: list[Animal], border: Sequence[Point] | None) -> dict[str, Any]:
    """Per species and country: median and range (km) of each animal's median distance from the border."""
    if not border or len(border) < 2:
        return {}
    per: dict[str, dict[str, list[float]]] = {}
    for animal in found:
        by_country: dict[str, list[float]] = defaultdict(list)
        for s in animal.sightings:
            if s.latitude is not None and s.longitude is not None:
                by_country[s.country].append(distance_to_line_km((s.latitude, s.longitude), border))
        for country, values in by_country.items():
            per.setdefault(animal.species, {}).setdefault(country, []).append(statistics.median(values))
    return {species: {country: {"animals": len(values), "median_km": round(statistics.median(values), 2),
                                "min_km": round(min(values), 2), "max_km": round(max(values), 2)}
                      for country, values in sorted(countries.items())}
            for species, countries in sorted(per.items())}


def distance_to_line_km(point: Point, line: Sequence[Point]) -> float:
    """Shortest distance from a point to a polyline, on a local flat projection (fine over a park)."""
    lat0 = math.radians(point[0])

    def xy(p: Point) -> tuple[float, float]:
        return (p[1] - point[1]) * 111.32 * math.cos(lat0), (p[0] - point[0]) * 110.574

    best = math.inf
    for a, b in itertools.pairwise(line):
        (ax, ay), (bx, by) = xy(a), xy(b)
        dx, dy = bx - ax, by - ay
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best
