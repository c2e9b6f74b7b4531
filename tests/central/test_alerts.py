"""Graded conflict warnings by distance to the nearest village, and ranger alerts for people in a zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from station.central.alerts import Sighting, StationPlace, alerts_for, band_level, haversine_km, in_polygon
from station.central.config import AlertsSection, ProtectedZone, Settlement, default_bands

VILLAGE = Settlement(name="Village", latitude=43.0, longitude=131.0, country="CN")
ZONE = ProtectedZone(name="core", polygon=[(43.1, 130.0), (43.1, 131.0), (44.0, 131.0), (44.0, 130.0)])
SETTINGS = AlertsSection(settlements=[VILLAGE], protected_zones=[ZONE])
AT = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)


def km_north(km: float) -> StationPlace:
    return StationPlace("tlnp-0001", "TLNP", "CN", 43.0 + km / 111.195, 131.0)


def sighting(species: str) -> Sighting:
    return Sighting("tlnp-0001", species, "seq-1", 1_793_509_200, AT, 0.9, "station")


def test_haversine_matches_a_known_distance():
    # one degree of latitude is 111.195 km on the IUGG mean sphere
    assert haversine_km(43.0, 131.0, 44.0, 131.0) == pytest.approx(111.195, abs=0.01)


@pytest.mark.parametrize("distance,level", [(0.3, 1), (0.99, 1), (1.0, 2), (1.9, 2), (2.5, 2), (2.99, 2),
                                            (3.0, 3), (4.9, 3), (5.0, None), (12.0, None)])
def test_levels_by_distance_close_the_2_to_3_km_gap_towards_level_2(distance, level):
    assert band_level(distance, default_bands()) == level


@pytest.mark.parametrize("species", ["amur_tiger", "amur_leopard"])
def test_a_big_cat_near_a_village_raises_one_conflict_alert(species):
    (alert,) = alerts_for(sighting(species), km_north(1.5), SETTINGS)
    assert (alert.kind, alert.level, alert.settlement) == ("conflict", 2, "Village")
    assert alert.distance_km == pytest.approx(1.5, abs=0.01)
    assert alert.alert_key == f"conflict:tlnp-0001:1793509200:{species}"
    payload = alert.payload()
    assert payload["schema"] == "alert/1.0" and payload["observed_at"] == "2026-11-01T05:00:00.000Z"


def test_no_alert_for_other_species_far_cats_or_unplaced_stations():
    assert alerts_for(sighting("roe_deer"), km_north(0.2), SETTINGS) == []
    assert alerts_for(sighting("amur_tiger"), km_north(6.0), SETTINGS) == []
    assert alerts_for(sighting("amur_tiger"), StationPlace("x", None, None, None, None), SETTINGS) == []
    assert alerts_for(sighting("amur_tiger"), km_north(0.5), AlertsSection()) == []  # no villages configured


def test_a_person_in_a_protected_zone_raises_a_ranger_alert():
    inside = StationPlace("tlnp-0002", "TLNP", "CN", 43.5, 130.5)
    (alert,) = alerts_for(sighting("human"), inside, SETTINGS)
    assert (alert.kind, alert.level, alert.zone) == ("ranger", None, "core")
    assert alerts_for(sighting("human"), km_north(0.5), SETTINGS) == []  # a person in a village is no alert


def test_polygon_membership():
    square = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]
    assert in_polygon(0.5, 0.5, square) and not in_polygon(1.5, 0.5, square) and not in_polygon(0.5, -0.1, square)


def test_bands_must_ascend():
    from station.central.config import validate_central_config
    from station.errors import ConfigError

    with pytest.raises(ConfigError, match="alerts: Value error, bands must be listed nearest first"):
        validate_central_config({"alerts": {"bands": [{"level": 1, "max_km": 3}, {"level": 2, "max_km": 1}]}},
                                source="central.toml")
