"""Where a simulated fleet stands: stations on both sides of the border, villages, a protected zone,
and the planned sightings of known individuals (one leopard crosses the border again and again).

Simplified geography around the LLNP/TLNP border near Hunchun: the border is taken as the meridian
131.0° E, Russian stations east of it, Chinese stations west of it.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

from station.central.config import ProtectedZone, Settlement
from station.central.registry import StationEntry

BORDER_LONGITUDE = 131.0
PARKS = {"RU": "LLNP", "CN": "TLNP"}


@dataclasses.dataclass(frozen=True)
class SimStation:
    index: int
    entry: StationEntry
    lora: bool
    outage: tuple[datetime, datetime] | None
    phase_s: float  # offset of its telemetry clock

    @property
    def station_id(self) -> str:
        return self.entry.station_id

    @property
    def country(self) -> str:
        return self.entry.country

    def offline(self, moment: datetime) -> bool:
        return self.outage is not None and self.outage[0] <= moment < self.outage[1]


@dataclasses.dataclass(frozen=True)
class PlannedSighting:
    at: datetime
    station_index: int
    species: str
    individual_id: str


# Known individuals: countries of their sightings, in time order.
INDIVIDUALS = {
    "LEO-07": ("amur_leopard", ("RU", "CN", "RU", "CN", "CN", "RU", "CN")),  # crosses 5 times
    "TIG-CN-03": ("amur_tiger", ("CN", "CN", "CN")),
    "LEO-RU-11": ("amur_leopard", ("RU", "RU")),
}


def make_stations(count: int, *, start: datetime, span: timedelta, seed: int, lora_share: float,
                  outage_share: float) -> list[SimStation]:
    rng = random.Random(f"{seed}:layout")
    stations = []
    for index in range(count):
        country = "RU" if index % 2 == 0 else "CN"
        number = index // 2 + 1
        row, col = divmod(number - 1, 20)
        side = 1 if country == "RU" else -1
        latitude = round(42.90 + (row % 30) * 0.02 + rng.uniform(-0.004, 0.004), 5)
        longitude = round(BORDER_LONGITUDE + side * (0.02 + col * 0.024) + rng.uniform(-0.004, 0.004), 5)
        lora = rng.random() < lora_share
        entry = StationEntry(f"{PARKS[country].lower()}-{number:04d}", PARKS[country], country, latitude, longitude,
                             f"{PARKS[country]} trail {number}", f"70b3d57ed0{index:06x}" if lora else None)
        stations.append(SimStation(index, entry, lora, _outage(rng, outage_share, start, span), rng.uniform(0, 300)))
    return stations


def _outage(rng: random.Random, share: float, start: datetime, span: timedelta) -> tuple[datetime, datetime] | None:
    if rng.random() >= share:
        return None
    begin = start + span * rng.uniform(0.05, 0.6)
    if rng.random() < 0.3:  # still down when the run ends: only its LoRa summaries reach the server
        return begin, start + span + timedelta(hours=1)
    return begin, begin + span * rng.uniform(0.1, 0.35)


def settlements_for(stations: list[SimStation]) -> list[Settlement]:
    """A village beside every fifth station (0.5-4 km away), so alerts of every level happen."""
    rng = random.Random("villages")
    villages = []
    for station in stations[::5]:
        distance_km = rng.choice((0.5, 1.5, 2.5, 4.0))
        lat = station.entry.latitude + distance_km / 111.2
        villages.append(Settlement(name=f"village near {station.station_id}", latitude=round(lat, 5),
                                   longitude=station.entry.longitude, country=station.country))
    return villages


def protected_zones() -> list[ProtectedZone]:
    """TLNP's core zone in the simulation: Chinese stations more than about 5 km west of the border."""
    west = BORDER_LONGITUDE - 0.06
    return [ProtectedZone(name="TLNP core zone", polygon=[(42.0, 130.0), (42.0, west), (44.0, west),
                                                          (44.0, 130.0)])]


def plan_sightings(stations: list[SimStation], *, start: datetime, span: timedelta) -> list[PlannedSighting]:
    """Sightings of the known individuals at stations that stay online, spread over the run."""
    steady = {c: [s.index for s in stations if s.country == c and s.outage is None] for c in PARKS}
    if not steady["RU"] or not steady["CN"]:
        return []
    planned = []
    for number, (individual, (species, path)) in enumerate(sorted(INDIVIDUALS.items())):
        for step, country in enumerate(path):
            fraction = (step + 0.5 + number * 0.15) / (len(path) + 1)
            pool = steady[country]
            planned.append(PlannedSighting(start + span * fraction, pool[(step + number) % len(pool)], species,
                                           individual))
    return planned
