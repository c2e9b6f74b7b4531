"""The cross-border catalogue of individual cats: national codes, expert merges and splits, conflicts.

Each park keeps its own catalogue: Russia codes a tiger ``T-12``, China ``AT-034``. An *individual* here is
one animal as the central store knows it; it holds one or more *codes*, each with its country and park. A
park's catalogue (CSV, ``import_catalogue``) names, per sighting, the code, the species, the sex and the
life stage the park's experts saw, and the observation (``observation_id``) it is in; optional
``other_codes`` (``RU:T-12;CN:AT-034``) records that the park knows the animal under another country's code.

- A code seen for the first time creates an individual ``<country>:<code>``; later rows and imports add
  sightings to it. Nothing is ever deleted: codes, sightings and decisions stay.
- ``merge`` folds one individual into another when experts decide they are one animal (``merged_into``);
  every code and sighting of both is kept, and the decision records who, when and why. ``split`` undoes a
  merge the same way. Reports follow ``merged_into`` at read time, so a split restores the earlier picture
  exactly.
- The same code claimed for two animals (through ``other_codes``, or a catalogue that names an observation
  already tied to another individual) is a **conflict**: it is listed for the experts (``conflicts``) and
  never resolved by the software. Until they decide, the report counts the animals linked by a shared code
  once (``station.central.population``), so a double code is never counted twice.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.central.db import scalar
from station.central.errors import NotFoundError, RegistryError

if TYPE_CHECKING:
    import psycopg

LIFE_STAGES = ("adult", "subadult", "juvenile")
SEXES = ("female", "male")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
CATALOGUE_COLUMNS = ("code", "species", "observation_id")


@dataclasses.dataclass(frozen=True)
class CatalogueRow:
    code: str
    species: str
    observation_id: str
    sex: str | None = None
    life_stage: str | None = None
    other_codes: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Decision:
    """Who decided, and why (kept with every merge, split and import)."""

    by: str
    reason: str


def individual_for_code(country: str, code: str) -> str:
    return f"{country}:{code}"


def parse_code(text: str) -> tuple[str, str]:
    """``RU:T-12`` -> ("RU", "T-12")."""
    country, sep, code = text.strip().partition(":")
    if not sep or not _COUNTRY.match(country) or not _CODE.match(code):
        raise RegistryError(f"{text!r} is not a catalogue code: write COUNTRY:CODE, e.g. RU:T-12")
    return country, code


def read_catalogue(path: Path) -> list[CatalogueRow]:
    """A park's catalogue CSV; a mistake names its line."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # a spreadsheet's BOM is not the header
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RegistryError(f"{path}: cannot read the catalogue ({exc})") from exc
    if not rows or not set(CATALOGUE_COLUMNS) <= set(rows[0]):
        raise RegistryError(f"{path}: the header needs {', '.join(CATALOGUE_COLUMNS)} (and optionally sex, "
                            f"life_stage, other_codes)")
    return [_catalogue_row(path, line, row) for line, row in enumerate(rows, start=2)]


def _catalogue_row(path: Path, line: int, row: dict[str, Any]) -> CatalogueRow:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    where = f"{path}:{line}"
    if not _CODE.match(cell("code")):
        raise RegistryError(f"{where}: code {cell('code')!r}: letters, digits, . _ -, up to 32")
    if cell("sex") not in ("", *SEXES):
        raise RegistryError(f"{where}: sex {cell('sex')!r}: female, male or empty")
    if cell("life_stage") not in ("", *LIFE_STAGES):
        raise RegistryError(f"{where}: life_stage {cell('life_stage')!r}: adult, subadult, juvenile or empty")
    try:
        others = tuple(parse_code(text) for text in cell("other_codes").split(";") if text.strip())
    except RegistryError as exc:
        raise RegistryError(f"{where}: other_codes: {exc}") from None
    if not cell("observation_id") or not cell("species"):
        raise RegistryError(f"{where}: observation_id and species are required")
    return CatalogueRow(cell("code"), cell("species"), cell("observation_id"), cell("sex") or None,
                        cell("life_stage") or None, others)


def import_catalogue(conn: psycopg.Connection, path: Path, *, country: str, park: str, decision: Decision) -> dict:
    """Apply one park's catalogue in one transaction (all or nothing); returns what it did."""
    if not _COUNTRY.match(country):
        raise RegistryError(f"country {country!r}: two capital letters, e.g. RU or CN")
    _require(decision)  # an import ties sightings to animals: a decision like a merge
    rows = read_catalogue(path)
    done = {"rows": len(rows), "individuals_created": 0, "sightings": 0, "conflicts": 0}
    with conn.transaction():
        for line, row in enumerate(rows, start=2):
            try:
                _apply_row(conn, row, country, park, decision, done)
            except (RegistryError, NotFoundError) as exc:
                raise type(exc)(f"{path}:{line}: {exc}") from None
        _record(conn, "import", f"catalogue:{country}:{park}", None, decision,
                {"file": path.name, "country": country, "park": park, **done})
    return done


def _apply_row(conn: psycopg.Connection, row: CatalogueRow, country: str, park: str, decision: Decision,
               done: dict) -> None:
    individual = individual_for_code(country, row.code)
    observed = conn.execute("SELECT species_key, observation_type, individual_id FROM observations "
                            "WHERE observation_id = %s", [row.observation_id]).fetchone()
    if observed is None:
        raise NotFoundError(f"no observation {row.observation_id} (not ingested yet, or a typo)")
    species, kind, current = observed
    if kind != "animal" or species != row.species:
        raise RegistryError(f"observation {row.observation_id} is {species} ({kind}), not {row.species}")
    created = conn.execute("INSERT INTO individuals (individual_id, species_key, sex) VALUES (%s, %s, %s) "
                           "ON CONFLICT (individual_id) DO NOTHING RETURNING 1",
                           [individual, row.species, row.sex]).fetchone()
    done["individuals_created"] += 1 if created else 0
    known = scalar(conn, "SELECT species_key FROM individuals WHERE individual_id = %s", [individual])
    if known != row.species:
        raise RegistryError(f"{individual} is a {known} in the catalogue, not a {row.species}")
    _claim(conn, country, row.code, individual, park, decision)
    for other_country, other_code in row.other_codes:
        _claim(conn, other_country, other_code, individual, park, decision)
    if current is not None and current != individual:
        done["conflicts"] += 1  # kept as it is: the experts decide (listed by conflicts())
        _record(conn, "claim", individual, current, decision,
                {"observation_id": row.observation_id, "note": "observation already tied to another individual"})
        return
    conn.execute("UPDATE observations SET individual_id = %s, life_stage = coalesce(%s, life_stage), "
                 "sex = coalesce(%s, sex) WHERE observation_id = %s",
                 [individual, row.life_stage, row.sex, row.observation_id])
    done["sightings"] += current is None  # a repeated row (or a re-import) ties nothing new


def _claim(conn: psycopg.Connection, country: str, code: str, individual: str, park: str,
           decision: Decision) -> None:
    conn.execute("INSERT INTO catalogue_codes (country, code, individual_id, park_id, claimed_by) "
                 "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                 [country, code, individual, park, decision.by])


def _record(conn: psycopg.Connection, kind: str, individual: str, other: str | None, decision: Decision,
            detail: dict | None = None) -> None:
    from psycopg.types.json import Jsonb

    conn.execute("INSERT INTO individual_decisions (kind, individual_id, other_id, decided_by, reason, detail) "
                 "VALUES (%s, %s, %s, %s, %s, %s)",
                 [kind, individual, other, decision.by, decision.reason, Jsonb(detail or {})])


def _live(conn: psycopg.Connection, individual: str) -> tuple[str, str | None]:
    row = conn.execute("SELECT species_key, merged_into FROM individuals WHERE individual_id = %s",
                       [individual]).fetchone()
    if row is None:
        raise NotFoundError(f"no individual {individual}; list them with `trapd central individuals list`")
    return row[0], row[1]


def canonical(conn: psycopg.Connection, individual: str) -> str:
    """The individual an id stands for now, following merges."""
    seen = set()
    while True:
        _, merged_into = _live(conn, individual)
        if merged_into is None or individual in seen:
            return individual
        seen.add(individual)
        individual = merged_into


_DECISIONS_LOCK = 0x7472_6170_6443_4154  # one merge or split at a time: two crossed merges cannot make a cycle


def _one_decision_at_a_time(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [_DECISIONS_LOCK])


def merge(conn: psycopg.Connection, keep: str, other: str, decision: Decision) -> str:
    """Experts decided ``other`` is the same animal as ``keep``: fold it in (reversible by ``split``)."""
    _require(decision)
    with conn.transaction():
        _one_decision_at_a_time(conn)
        keep_now, other_now = canonical(conn, keep), canonical(conn, other)
        if keep_now == other_now:
            raise RegistryError(f"{other} is already {keep_now}: nothing to merge")
        if _live(conn, keep_now)[0] != _live(conn, other_now)[0]:
            raise RegistryError(f"{keep_now} is a {_live(conn, keep_now)[0]} and {other_now} a "
                                f"{_live(conn, other_now)[0]}: a merge joins one animal's records")
        conn.execute("UPDATE individuals SET merged_into = %s WHERE individual_id = %s", [keep_now, other_now])
        _record(conn, "merge", keep_now, other_now, decision)
    return keep_now


def split(conn: psycopg.Connection, other: str, decision: Decision) -> str:
    """Undo the merge that folded ``other`` into another individual; returns the one it had joined."""
    _require(decision)
    with conn.transaction():
        _one_decision_at_a_time(conn)
        _, merged_into = _live(conn, other)
        if merged_into is None:
            raise RegistryError(f"{other} was not merged into another individual: nothing to split")
        conn.execute("UPDATE individuals SET merged_into = NULL WHERE individual_id = %s", [other])
        _record(conn, "split", merged_into, other, decision)
    return merged_into


def _require(decision: Decision) -> None:
    if not decision.by.strip() or not decision.reason.strip():
        raise RegistryError("say who decided (--by) and why (--reason): every merge and split is kept with both")


def conflicts(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Codes claimed for two or more animals (after merges), and sightings claimed by two catalogues."""
    rows = conn.execute("SELECT country, code, individual_id FROM catalogue_codes ORDER BY country, code").fetchall()
    owners: dict[tuple[str, str], set[str]] = {}
    for country, code, individual in rows:
        owners.setdefault((country, code), set()).add(canonical(conn, individual))
    found = [{"kind": "code", "code": f"{country}:{code}", "individuals": sorted(ids)}
             for (country, code), ids in sorted(owners.items()) if len(ids) > 1]
    listed = set()
    for individual, other, detail in conn.execute(
            "SELECT individual_id, other_id, detail FROM individual_decisions WHERE kind = 'claim' "
            "ORDER BY decision_id"):
        a, b = canonical(conn, individual), canonical(conn, other)
        key = (detail.get("observation_id"), *sorted({a, b}))
        if a != b and key not in listed:  # a catalogue imported twice claims the sighting twice: one question
            listed.add(key)
            found.append({"kind": "sighting", "observation_id": detail.get("observation_id"),
                          "individuals": sorted({a, b})})
    return found


def history(conn: psycopg.Connection, individual: str) -> dict[str, Any]:
    """Everything about one individual: codes, sightings, and every decision that touched it."""
    species, merged_into = _live(conn, individual)
    codes = [f"{c}:{k}" for c, k in conn.execute(
        "SELECT country, code FROM catalogue_codes WHERE individual_id = %s ORDER BY country, code", [individual])]
    decisions = [{"kind": kind, "individual": ind, "other": other, "by": by, "at": at.isoformat(), "reason": reason}
                 for kind, ind, other, by, at, reason in conn.execute(
                     "SELECT kind, individual_id, other_id, decided_by, decided_at, reason FROM individual_decisions "
                     "WHERE individual_id = %s OR other_id = %s ORDER BY decision_id", [individual, individual])]
    sightings = scalar(conn, "SELECT count(*) FROM observations WHERE individual_id = %s", [individual])
    return {"individual_id": individual, "species": species, "merged_into": merged_into,
            "now": canonical(conn, individual), "codes": codes, "sightings": sightings, "decisions": decisions}
