"""The cross-border catalogue of individuals and the parks' joint report, on the `transboundary-2014` demo:
a private broker, the local PostgreSQL, ingest, each park's catalogue under its own codes, the experts'
merges, and the report that must reproduce the published table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from station.central.catalogue import Decision, conflicts, history, merge, split
from station.central.config import DatabaseSection
from station.central.db import drop_schema, open_store
from station.central.demo import CentralDemoResult, run_demo
from station.central.errors import RegistryError
from station.central.population import IndividualSighting, animals, dispersal, distance_to_line_km, joint_table
from station.central.report import build_report
from station.central.report_html import render_html
from station.central.report_i18n import missing_keys
from station.cli.main import main

from .conftest import needs_frictionless

# The parks' joint study (camera trapping on both sides of the border, 2014-2016), as published.
PUBLISHED = {
    "amur_tiger": {"CN": {"adults": 22, "cubs": 4}, "RU": {"adults": 42, "cubs": 7}, "both": 19, "total": 45},
    "amur_leopard": {"CN": {"adults": 23, "cubs": 1}, "RU": {"adults": 81, "cubs": 13}, "both": 15, "total": 89},
}
EXPERT = Decision("test expert", "checked the rosettes")


@pytest.fixture(scope="module")
def demo(postgres_url: str) -> Iterator[tuple[CentralDemoResult, DatabaseSection]]:
    result = run_demo("transboundary-2014", database=postgres_url, keep=True)
    section = DatabaseSection(url=postgres_url, schema=result.schema)
    yield result, section
    drop_schema(section)


def test_the_demo_reproduces_the_published_table(demo) -> None:
    result, _ = demo
    report = result.report
    assert report["individuals"] == PUBLISHED
    assert report["max_crossings"] == {"amur_tiger": 2, "amur_leopard": 10}  # one leopard crossed ten times
    assert report["dispersal"] == {"amur_tiger": {"RU->CN": 2}, "amur_leopard": {"RU->CN": 4}}
    tigers = report["border_distance_km"]["amur_tiger"]
    assert tigers["CN"]["median_km"] > 2 * tigers["RU"]["median_km"]  # Chinese tigers further inland
    assert result.matches


def test_an_unmerged_double_code_is_a_conflict_not_a_second_tiger(demo) -> None:
    result, section = demo
    (conflict,) = result.report["conflicts"]
    ru_code, cn_individual = conflict["code"], next(i for i in conflict["individuals"] if i.startswith("CN:"))
    assert conflict["kind"] == "code" and ru_code.startswith("RU:T-")
    assert result.report["individuals"]["amur_tiger"]["total"] == 45  # counted once, not 46
    with open_store(section) as conn:  # the experts settle it: the conflict goes, the count stays
        merge(conn, ru_code, cn_individual, EXPERT)
        assert conflicts(conn) == []
        assert build_report(conn)["individuals"] == PUBLISHED
        split(conn, cn_individual, Decision("test expert", "restore the demo"))
        assert len(conflicts(conn)) == 1


def test_a_split_undoes_a_merge_and_every_decision_is_kept(demo) -> None:
    _, section = demo
    with open_store(section) as conn:
        leopard = next(a for a in build_report(conn)["individual_sightings"]
                       if a["species"] == "amur_leopard" and len(a["records"]) == 2 and a["crossings"] == 2)
        other, keep = leopard["records"]  # CN:AL-… was folded into RU:L-…
        assert other.startswith("CN:") and keep.startswith("RU:")
        split(conn, other, Decision("test expert", "two animals after all"))
        table = build_report(conn)["individuals"]["amur_leopard"]
        assert (table["both"], table["total"]) == (14, 90)  # now two animals, each in one country
        assert table["RU"] == PUBLISHED["amur_leopard"]["RU"] and table["CN"] == PUBLISHED["amur_leopard"]["CN"]
        merge(conn, keep, other, EXPERT)
        assert build_report(conn)["individuals"]["amur_leopard"] == PUBLISHED["amur_leopard"]
        kinds = [(d["kind"], d["by"]) for d in history(conn, other)["decisions"]]
        assert kinds[-3:] == [("merge", "joint LLNP-TLNP identification group"), ("split", "test expert"),
                              ("merge", "test expert")]
        assert len(history(conn, other)["codes"]) == 1 and history(conn, other)["now"] == history(conn, keep)["now"]


def test_merges_need_who_and_why_and_one_species(demo) -> None:
    _, section = demo
    report = run_report(section)
    tiger = next(a["individual_id"] for a in report["individual_sightings"] if a["species"] == "amur_tiger")
    leopard = next(a["individual_id"] for a in report["individual_sightings"] if a["species"] == "amur_leopard")
    with open_store(section) as conn:
        with pytest.raises(RegistryError, match="who decided"):
            merge(conn, tiger, leopard, Decision("", ""))
        with pytest.raises(RegistryError, match="a merge joins one animal"):
            merge(conn, tiger, leopard, EXPERT)


def run_report(section: DatabaseSection) -> dict:
    with open_store(section) as conn:
        return build_report(conn)


def test_the_report_command_and_a_catalogue_mistake(demo, tmp_path) -> None:
    _, section = demo
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{section.url}"\nschema = "{section.db_schema}"\n'
                      f'[report]\nborder = [[42.4, 131.0], [44.0, 131.0]]\n', encoding="utf-8")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["central", "-c", str(config), "report", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "China                              22 ( 4)       23 ( 1)" in result.output
    data = json.loads(out.read_text())
    assert data["individuals"]["amur_leopard"]["RU"] == {"adults": 81, "cubs": 13}
    assert data["max_crossings"]["amur_leopard"] == 10
    bad = tmp_path / "bad.csv"
    bad.write_text("code,species,observation_id,life_stage\nT-99,amur_tiger,obs-x,elderly\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["central", "-c", str(config), "catalogue", "import", str(bad),
                                        "--country", "RU", "--park", "LLNP", "--by", "me"])
    assert refused.exit_code == 1 and f"{bad}:2: life_stage 'elderly'" in refused.output
    assert "Traceback" not in refused.output


def test_the_council_page_in_three_languages_with_its_map(demo) -> None:
    result, _ = demo
    page = render_html(result.report)
    assert missing_keys() == {}
    for title in ("joint camera-trap report", "совместный отчёт", "红外相机联合监测报告"):
        assert title in page
    assert page.count("<td>22 (4)</td>") == 3 and page.count("<td>81 (13)</td>") == 3  # one table per language
    stations = len(result.report["map"]["stations"])
    assert page.count("<circle") == 3 * stations and "<polyline" in page
    assert "<script" not in page and "src=" not in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_camtrap_dp_carries_the_individual_its_life_stage_and_sex(demo, tmp_path) -> None:
    needs_frictionless()
    from station.camtrapdp.validate import validate_package
    from station.central.config import ExportSection
    from station.central.export import Selection, export_central

    _, section = demo
    with open_store(section) as conn:
        export_central(conn, tmp_path / "ru", Selection(countries=("RU",)), ExportSection())
    import csv

    with (tmp_path / "ru" / "observations.csv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["individualID"]]
    assert rows and {row["lifeStage"] for row in rows} <= {"adult", "subadult", "juvenile"}
    assert {row["sex"] for row in rows} <= {"female", "male"}
    merged = [row for row in rows if "CN:" in row["observationTags"]]  # known under both codes
    assert merged and all(row["individualID"].startswith("RU:") for row in merged)
    assert validate_package(tmp_path / "ru") == []


# -- the counting rules alone --------------------------------------------------------------------------


def sighting(individual: str, day: int, country: str, stage: str | None = "adult") -> IndividualSighting:
    return IndividualSighting(individual, datetime(2014, 1, 1, tzinfo=UTC) + timedelta(days=day), country,
                    f"st-{country}", 43.0, 131.05 if country == "RU" else 130.95, stage)


def test_records_linked_by_a_code_or_a_merge_are_one_animal() -> None:
    individuals = {"RU:T-1": ("amur_tiger", None), "CN:AT-1": ("amur_tiger", "RU:T-1"),
                   "CN:AT-2": ("amur_tiger", None), "RU:T-2": ("amur_tiger", None)}
    codes = [("RU", "T-1", "RU:T-1"), ("CN", "AT-1", "CN:AT-1"), ("CN", "AT-2", "CN:AT-2"),
             ("RU", "T-2", "RU:T-2"), ("RU", "T-2", "CN:AT-2")]  # AT-2 is noted as T-2: a conflict
    found = animals(individuals, codes, [sighting("RU:T-1", 1, "RU"), sighting("CN:AT-1", 2, "CN"),
                                         sighting("CN:AT-2", 3, "CN"), sighting("RU:T-2", 4, "RU", "juvenile")])
    assert [a.members for a in found] == [["CN:AT-2", "RU:T-2"], ["CN:AT-1", "RU:T-1"]]
    table = joint_table(found, ["CN", "RU"])["amur_tiger"]
    assert table == {"CN": {"adults": 2, "cubs": 0}, "RU": {"adults": 1, "cubs": 1}, "both": 1, "total": 2}


def test_dispersal_needs_a_young_first_sighting_and_another_country() -> None:
    individuals = {"a": ("amur_leopard", None), "b": ("amur_leopard", None), "c": ("amur_leopard", None)}
    found = animals(individuals, [], [sighting("a", 1, "RU", "juvenile"), sighting("a", 90, "CN", "subadult"),
                                      sighting("b", 1, "RU", "adult"), sighting("b", 50, "CN"),
                                      sighting("c", 1, "CN", "subadult"), sighting("c", 9, "CN")])
    assert dispersal(found) == {"amur_leopard": {"RU->CN": 1}}


def test_distance_to_the_border_line() -> None:
    border = [(42.0, 131.0), (44.0, 131.0)]
    assert distance_to_line_km((43.0, 131.1), border) == pytest.approx(8.14, abs=0.02)
    assert distance_to_line_km((45.0, 131.0), border) == pytest.approx(110.6, abs=0.5)  # past the line's end


# -- attacks: what a careless spreadsheet, a hostile id or two experts at once must not break -------------------

def test_crossed_merges_at_once_make_no_cycle_and_bad_merges_are_refused(demo) -> None:
    """Expert 1 merges B into A while expert 2 merges A into B: one wins, the other is told; never a cycle."""
    import threading

    _, section = demo
    with open_store(section) as first, open_store(section) as second:
        first.execute("INSERT INTO individuals (individual_id, species_key) VALUES ('ZZ:A', 'amur_tiger'), "
                      "('ZZ:B', 'amur_tiger'), ('ZZ:C', 'amur_tiger')")
        try:
            outcome: list[object] = []

            def crossed() -> None:
                try:
                    outcome.append(merge(second, "ZZ:B", "ZZ:A", EXPERT))
                except RegistryError as exc:
                    outcome.append(exc)

            with first.transaction():
                merge(first, "ZZ:A", "ZZ:B", EXPERT)
                other = threading.Thread(target=crossed)
                other.start()
                other.join(0.5)  # expert 2 waits for expert 1's decision to commit
                assert other.is_alive()
            other.join(10)
            (result,) = outcome
            assert isinstance(result, RegistryError) and "already" in str(result)
            chain = dict(first.execute("SELECT individual_id, merged_into FROM individuals "
                                       "WHERE individual_id LIKE 'ZZ:%'").fetchall())
            assert chain == {"ZZ:A": None, "ZZ:B": "ZZ:A", "ZZ:C": None}
            with pytest.raises(RegistryError, match="nothing to merge"):
                merge(first, "ZZ:A", "ZZ:A", EXPERT)  # into itself
            with pytest.raises(RegistryError, match="nothing to split"):
                split(first, "ZZ:C", EXPERT)  # never merged
            assert merge(first, "ZZ:B", "ZZ:C", EXPERT) == "ZZ:A"  # into a merged id: its animal now
            assert history(first, "ZZ:C")["now"] == "ZZ:A"
            assert [d["by"] for d in history(first, "ZZ:C")["decisions"]] == ["test expert"]
        finally:
            first.execute("UPDATE individuals SET merged_into = NULL WHERE individual_id LIKE 'ZZ:%'")
            first.execute("DELETE FROM individual_decisions WHERE individual_id LIKE 'ZZ:%'")
            first.execute("DELETE FROM individuals WHERE individual_id LIKE 'ZZ:%'")


def _one_of(conn, species: str, country: str) -> tuple[str, str]:
    """(observation id, individual id) of an animal the park catalogued and no other park noted."""
    return conn.execute(
        "SELECT o.observation_id, o.individual_id FROM observations o JOIN individuals i USING (individual_id) "
        "WHERE o.species_key = %s AND o.individual_id LIKE %s AND i.merged_into IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM individuals j WHERE j.merged_into = i.individual_id) ORDER BY 1 LIMIT 1",
        [species, f"{country}:%"]).fetchone()


def test_a_spreadsheet_catalogue_with_a_bom_repeated_rows_and_a_code_claimed_for_two_species(demo, tmp_path):
    """Excel's UTF-8 BOM is not part of the header; a repeated row ties nothing twice; a leopard's row noting a
    tiger's code is a conflict for the experts, and neither cat disappears from the count."""
    import psycopg

    from station.central.catalogue import import_catalogue

    _, section = demo
    with open_store(section) as conn:
        before = build_report(conn)
        with conn.transaction():
            leopard_obs, leopard = _one_of(conn, "amur_leopard", "CN")
            tiger_obs, tiger = _one_of(conn, "amur_tiger", "RU")
            path = tmp_path / "catalogue-CN.csv"
            row = f"{leopard.split(':')[1]},amur_leopard,{leopard_obs},{tiger}\r\n"
            claim = f"AT-900,amur_tiger,{tiger_obs},\r\n"  # China claims a sighting Russia catalogued
            path.write_bytes(("\ufeffcode,species,observation_id,other_codes\r\n" + row + row + claim + claim
                              ).encode("utf-8"))
            with pytest.raises(RegistryError, match="who decided"):  # nobody: not traceable, not applied
                import_catalogue(conn, path, country="CN", park="TLNP", decision=Decision(" ", "import"))
            done = import_catalogue(conn, path, country="CN", park="TLNP", decision=EXPERT)
            assert (done["rows"], done["sightings"], done["individuals_created"], done["conflicts"]) == (4, 0, 1, 2)
            after = build_report(conn)
            assert after["individuals"] == before["individuals"] == PUBLISHED
            assert {"kind": "code", "code": tiger, "individuals": sorted([leopard, tiger])} in after["conflicts"]
            claimed = [c for c in after["conflicts"] if c["kind"] == "sighting"]
            assert claimed == [{"kind": "sighting", "observation_id": tiger_obs,
                                "individuals": sorted(["CN:AT-900", tiger])}]  # asked once, not per row
            raise psycopg.Rollback()  # leave the demo as it was


def test_the_page_escapes_every_id_and_renders_species_it_has_no_word_for(demo) -> None:
    """Station ids, codes, individual ids and species come from stations and parks: never markup."""
    import copy
    from html.parser import HTMLParser

    result, _ = demo
    report = copy.deepcopy(result.report)
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    report["map"]["stations"][0]["station_id"] = evil
    report["map"]["crossings"][0]["animal"] = evil
    report["crossings"][0].update(animal=evil, codes=[evil], species="brown_bear" + evil)
    report["individuals"]["brown_bear"] = copy.deepcopy(report["individuals"]["amur_tiger"])
    report["border_distance_km"]["amur_tiger"]["KP"] = {"animals": 1, "median_km": 1.0, "min_km": 1.0,
                                                       "max_km": 1.0}
    report["conflicts"] = [{"kind": "code", "code": evil, "individuals": [evil]}]
    report["range"]["since"] = evil
    page = render_html(report)

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.attributes: set[str] = set()

        def handle_starttag(self, tag, attrs) -> None:
            self.tags.add(tag)
            self.attributes |= {name for name, _ in attrs}

    parsed = Tags()
    parsed.feed(page)
    assert parsed.tags <= {"html", "head", "meta", "title", "style", "body", "p", "section", "h1", "h2", "table",
                           "thead", "tbody", "tr", "th", "td", "ul", "li", "svg", "rect", "polyline", "line",
                           "circle", "text"}
    assert not any(name.startswith("on") or name == "src" for name in parsed.attributes)
    assert page.count("&lt;script&gt;") >= 3 * 5 and "brown_bear" in page
