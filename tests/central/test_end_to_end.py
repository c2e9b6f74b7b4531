"""End to end: simulated RU/LLNP and CN/TLNP stations publish through a private Mosquitto, two ingest workers
share the subscription, and PostgreSQL ends up with every row exactly once; the export validates and the
report's numbers match the scenario's known truth, including a leopard that crosses the border 5 times."""

from __future__ import annotations

import json

import pytest

from station.camtrapdp.validate import validate_package
from station.central.alerts import Sighting, StationPlace, alerts_for
from station.central.export import Selection, export_central
from station.central.fleet import FleetPublisher
from station.central.individuals import import_individuals, write_assignments
from station.central.registry import register_stations
from station.central.report import build_report
from station.central.scenario import FleetPlan, Scenario
from station.devtools.collector import TopicCollector
from tests.central.conftest import count, ingest_workers, make_central_config, needs_frictionless
from tests.conftest import wait_until

PLAN = FleetPlan(stations=10, hours=24, seed=3, telemetry_interval_s=1800, outage_share=0.4, lora_share=0.7,
                 events_per_day=16, bad_messages=6)


@pytest.fixture
def ingested(store, database, central_broker, tmp_path):
    """Run the scenario through the broker into the store; returns (scenario, config, alert messages)."""
    scenario = Scenario(PLAN)
    config = make_central_config(database, central_broker, alerts={
        "settlements": [s.model_dump() for s in scenario.settlements],
        "protected_zones": [z.model_dump() for z in scenario.zones]})
    register_stations(store, scenario.registry())
    alerts = TopicCollector(central_broker.host, central_broker.port, "camtrap-central/v1/alerts/#")
    try:
        with ingest_workers(config, 2) as workers:
            with FleetPublisher(central_broker.host, central_broker.port, connections=3) as fleet:
                fleet.run(scenario.publications(), speedup=0)
            truth = scenario.truth
            wait_until(lambda: count(store, "SELECT count(*) FROM events") == len(truth.sequences)
                       and count(store, "SELECT count(*) FROM dead_letters") == PLAN.bad_messages
                       and count(store, "SELECT count(*) FROM telemetry") == truth.telemetry_rows()
                       and all(w.idle() for w in workers), timeout=45,
                       message=lambda: "ingest to catch up: " + str([w.snapshot() for w in workers]))
            stats = [w.snapshot() for w in workers]
        wait_until(lambda: len(alerts.messages) >= count(store, "SELECT count(*) FROM alerts"), timeout=5)
        yield scenario, config, stats, list(alerts.messages)
    finally:
        alerts.close()


def test_every_row_lands_exactly_once_and_both_workers_share_the_load(ingested, store):
    scenario, _, stats, _ = ingested
    truth = scenario.truth
    assert truth.published["duplicate"] > 0 and truth.joined() >= 2 and truth.lora_only() >= 1  # a real test
    assert all(s["received"] > 0 for s in stats), stats
    assert sum(s["received"] for s in stats) == truth.messages
    assert sum(s.get("duplicates", 0) for s in stats) >= truth.published["duplicate"]
    assert count(store, "SELECT count(*) FROM events") == len(truth.sequences)
    assert count(store, "SELECT count(*) FROM observations") == len(truth.observations)
    rows = store.execute("SELECT o.species_key, p.country, count(*) FROM observations o JOIN stations s "
                         "USING (station_id) JOIN parks p USING (park_id) WHERE o.species_key <> 'blank' "
                         "GROUP BY 1, 2").fetchall()
    assert {(species, country): n for species, country, n in rows} == truth.detections()
    assert count(store, "SELECT count(*) FROM media WHERE thumbnail IS NOT NULL") == truth.published["thumbnail"]
    assert count(store, "SELECT count(*) FROM telemetry") == truth.telemetry_rows()
    assert count(store, "SELECT count(*) FROM stations WHERE state = 'online'") >= 1


def test_lora_summaries_join_the_later_full_records_without_double_counting(ingested, store):
    truth = ingested[0].truth
    assert count(store, "SELECT count(*) FROM observations WHERE source = 'station' AND lora_frame IS NOT NULL"
                 ) == truth.joined()
    assert count(store, "SELECT count(*) FROM observations WHERE source = 'lora'") == truth.lora_only()


def test_bad_messages_land_in_dead_letters_with_a_reason(ingested, store):
    reasons = [r[0] for r in store.execute("SELECT reason FROM dead_letters ORDER BY id").fetchall()]
    expected = ["detection: not JSON", "is not detection/1.x; upgrade the server",
                "telemetry: uptime_s: Field required", "is not a media id",
                "lora: truncated detection: 1 trailing bytes",
                "lora: device ffffffffffffffff (stray) is not mapped to a station"]
    assert len(reasons) == len(expected)
    assert [e for e in expected if not any(e in r for r in reasons)] == []


def test_alerts_are_raised_once_per_event_and_published(ingested, store):
    scenario, config, _, published = ingested
    places = {s.station_id: StationPlace(s.station_id, s.entry.park, s.country, s.entry.latitude,
                                         s.entry.longitude) for s in scenario.stations}
    expected = set()
    for fact in scenario.truth.observations.values():
        sighting = Sighting(fact.station_id, fact.species, "", fact.start_second, None, None, "")
        expected |= {a.alert_key for a in alerts_for(sighting, places[fact.station_id], config.alerts)}
    assert {"conflict", "ranger"} <= {key.split(":")[0] for key in expected}
    stored = {r[0] for r in store.execute("SELECT alert_key FROM alerts").fetchall()}
    assert stored == expected
    ids = [json.loads(payload)["id"] for _, payload in published]
    assert len(ids) == len(set(ids)) == len(expected)
    assert count(store, "SELECT count(*) FROM alerts WHERE published_at IS NULL") == 0


def test_report_and_export_match_the_known_truth(ingested, store, tmp_path):
    needs_frictionless()
    scenario, config, _, _ = ingested
    truth = scenario.truth
    write_assignments(tmp_path / "individuals.csv", truth.assignments())
    assert import_individuals(store, tmp_path / "individuals.csv") == len(truth.assignments())
    report = build_report(store)
    assert [(r["country"], r["stations"]) for r in report["stations"]] == [("CN", 5), ("RU", 5)]
    assert {(d["species"], c): n for d in report["detections"] for c, n in d["by_country"].items()} == \
        truth.detections()
    assert {i["individual_id"]: i["crossings"] for i in report["individual_sightings"]} == truth.crossings()
    assert report["individuals_in_both_countries"] == ["LEO-07"]
    assert truth.crossings()["LEO-07"] == 5 and report["border_crossings"] == 5

    result = export_central(store, tmp_path / "dp", Selection(), config.export, write_thumbnails=True)
    assert validate_package(tmp_path / "dp") == []
    import csv

    with (tmp_path / "dp" / "observations.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(row["observationLevel"] == "event" for row in rows) == len(truth.observations)
    exported_media = {line.split(",")[0] for line in (tmp_path / "dp" / "media.csv").read_text().splitlines()[1:]}
    boxes = [row for row in rows if row["observationLevel"] == "media"]  # the detector's box on its best frame
    assert boxes and all(row["mediaID"] in exported_media and row["bboxWidth"] for row in boxes)
    assert result.package.rows["observations"] == len(rows)
    media = (tmp_path / "dp" / "media.csv").read_text().splitlines()
    private = [line for line in media if ",false," in line]
    human_events = count(store, "SELECT count(DISTINCT m.media_id) FROM media m JOIN observations o "
                                "ON o.event_id = m.event_id WHERE o.observation_type = 'human'")
    assert len(private) == human_events > 0
    written = {p.stem for p in (tmp_path / "dp" / "media").rglob("*.jpg")}
    assert written and not any(line.split(",")[0] in written for line in private)  # people's photos stay home

    leopards = export_central(store, tmp_path / "ru", Selection(countries=("RU",), species=("amur_leopard",)),
                              config.export)
    assert validate_package(tmp_path / "ru") == []
    with (tmp_path / "ru" / "observations.csv").open(encoding="utf-8") as handle:
        events = [row for row in csv.DictReader(handle) if row["observationLevel"] == "event"]
    assert len(events) == truth.detections().get(("amur_leopard", "RU"), 0) > 0
    assert leopards.package.rows["observations"] >= len(events)


def test_a_species_filter_never_makes_a_photo_of_a_person_public(ingested, store, tmp_path):
    needs_frictionless()
    config = ingested[1]
    export_central(store, tmp_path / "dogs", Selection(species=("domestic_dog",)), config.export)
    assert validate_package(tmp_path / "dogs") == []
    rows = (tmp_path / "dogs" / "media.csv").read_text().splitlines()[1:]
    with_people = {r[0] for r in store.execute(
        "SELECT m.media_id FROM media m JOIN observations o USING (event_id) WHERE o.observation_type = 'human'")}
    assert rows and all(",false," in row for row in rows if row.split(",")[0] in with_people)
    assert with_people & {row.split(",")[0] for row in rows}  # the dogs came with their people
