"""Human-wildlife conflict warnings and ranger alerts. Pure: the ingest worker stores and publishes them.

- A tiger or leopard (``[alerts] species``) seen at a station within the outermost band of the nearest
  settlement raises a *conflict* alert whose level comes from that distance: level 1 under 1 km, level 2
  from 1 km up to 3 km, level 3 from 3 km up to 5 km by default. TLNP's published grades leave 2-3 km
  unassigned; we close the gap towards the more urgent level, so a cat closer than any level-3 cat is never
  graded below one. Beyond the last band: no alert.
- A person seen at a station inside a protected zone raises a *ranger* alert.
- Once per event: the alert key is (kind, station, sequence start second, species), the same key the LoRa
  summary and the later full record share, so neither a second frame nor the full record after a LoRa
  summary raises it again.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from typing import Any

from station.central.config import AlertsSection, Band, ProtectedZone, Settlement
from station.wire.ids import iso, uuid7

EARTH_RADIUS_KM = 6371.0088


@dataclasses.dataclass(frozen=True)
class StationPlace:
    station_id: str
    park_id: str | None
    country: str | None
    latitude: float | None
    longitude: float | None


@dataclasses.dataclass(frozen=True)
class Sighting:
    """One species in one event, from a full record or a LoRa summary."""

    station_id: str
    species_key: str
    event_id: str
    start_second: int
    observed_at: datetime
    confidence: float | None
    source: str


@dataclasses.dataclass(frozen=True)
class Alert:
    alert_id: str
    alert_key: str
    kind: str  # conflict | ranger
    level: int | None
    sighting: Sighting
    place: StationPlace
    settlement: str | None = None
    distance_km: float | None = None
    zone: str | None = None

    def payload(self) -> dict[str, Any]:
        s, p = self.sighting, self.place
        return {"schema": "alert/1.0", "id": self.alert_id, "kind": self.kind, "level": self.level,
                "station_id": s.station_id, "park": p.park_id, "country": p.country,
                "latitude": p.latitude, "longitude": p.longitude, "species": s.species_key,
                "event_id": s.event_id, "observed_at": iso(s.observed_at), "confidence": s.confidence,
                "source": s.source, "settlement": self.settlement,
                "distance_km": None if self.distance_km is None else round(self.distance_km, 2),
                "zone": self.zone}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def nearest_settlement(latitude: float, longitude: float,
                       settlements: list[Settlement]) -> tuple[Settlement, float] | None:
    scored = [(haversine_km(latitude, longitude, s.latitude, s.longitude), s) for s in settlements]
    if not scored:
        return None
    distance, settlement = min(scored, key=lambda pair: pair[0])
    return settlement, distance


def band_level(distance_km: float, bands: list[Band]) -> int | None:
    """The level of the first band the distance falls under (bands are nearest first); None beyond all."""
    return next((band.level for band in bands if distance_km < band.max_km), None)


def in_polygon(latitude: float, longitude: float, polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule; fine for park zones (small, far from the poles and the antimeridian)."""
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (lat1 > latitude) != (lat2 > latitude):
            crossing = lon1 + (latitude - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if longitude < crossing:
                inside = not inside
    return inside


def zone_of(latitude: float, longitude: float, zones: list[ProtectedZone]) -> ProtectedZone | None:
    return next((zone for zone in zones if in_polygon(latitude, longitude, zone.polygon)), None)


def alerts_for(sighting: Sighting, place: StationPlace, settings: AlertsSection) -> list[Alert]:
    """The alerts one sighting raises (usually none)."""
    if place.latitude is None or place.longitude is None:
        return []
    key = f"{sighting.station_id}:{sighting.start_second}:{sighting.species_key}"
    if sighting.species_key in settings.species:
        found = nearest_settlement(place.latitude, place.longitude, settings.settlements)
        if found is not None:
            settlement, distance = found
            level = band_level(distance, settings.bands)
            if level is not None:
                return [Alert(uuid7(), f"conflict:{key}", "conflict", level, sighting, place,
                              settlement=settlement.name, distance_km=distance)]
    if sighting.species_key == "human":
        zone = zone_of(place.latitude, place.longitude, settings.protected_zones)
        if zone is not None:
            return [Alert(uuid7(), f"ranger:{key}", "ranger", None, sighting, place, zone=zone.name)]
    return []
