"""Individual animals: experts recognise a cat by its stripes or rosettes and tie observations to it.

``set_individual`` ties one observation; ``import_individuals`` reads a CSV with the columns
``observation_id, individual_id`` and optionally ``name, sex, notes`` (one transaction: all or nothing).
An individual is created on first use with the observation's species, and an observation of another
species is refused. Assignments survive a LoRa summary being replaced by its full record.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

from station.central.db import scalar
from station.central.errors import NotFoundError, RegistryError

if TYPE_CHECKING:
    import psycopg

_INDIVIDUAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class Assignment:
    observation_id: str
    individual_id: str
    name: str | None = None
    sex: str | None = None
    notes: str | None = None


def set_individual(conn: psycopg.Connection, assignment: Assignment) -> str:
    """Tie one observation to an individual; returns the individual's species."""
    with conn.transaction():
        return _assign(conn, assignment)


def clear_individual(conn: psycopg.Connection, observation_id: str) -> None:
    with conn.transaction():
        row = conn.execute("UPDATE observations SET individual_id = NULL WHERE observation_id = %s RETURNING 1",
                           [observation_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no observation {observation_id}; list them with `trapd central export`")


def _assign(conn: psycopg.Connection, a: Assignment) -> str:
    if not _INDIVIDUAL_ID.match(a.individual_id):
        raise RegistryError(f"{a.individual_id!r} is not an individual id (letters, digits, . _ : -; up to 64)")
    if a.sex not in (None, "female", "male"):
        raise RegistryError(f"sex {a.sex!r}: use female, male or leave it empty")
    row = conn.execute("SELECT species_key, observation_type FROM observations WHERE observation_id = %s",
                       [a.observation_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no observation {a.observation_id} (it may not have been ingested yet)")
    species, kind = row
    if kind != "animal":
        raise RegistryError(f"observation {a.observation_id} is {kind}, not an animal; only animals have individuals")
    conn.execute("INSERT INTO individuals (individual_id, species_key, name, sex, notes) VALUES (%s, %s, %s, %s, %s) "
                 "ON CONFLICT (individual_id) DO UPDATE SET name = coalesce(EXCLUDED.name, individuals.name), "
                 "sex = coalesce(EXCLUDED.sex, individuals.sex), notes = coalesce(EXCLUDED.notes, individuals.notes)",
                 [a.individual_id, species, a.name, a.sex, a.notes])
    known = scalar(conn, "SELECT species_key FROM individuals WHERE individual_id = %s", [a.individual_id])
    if known != species:
        raise RegistryError(f"individual {a.individual_id} is a {known}, but observation {a.observation_id} "
                            f"is a {species}")
    conn.execute("UPDATE observations SET individual_id = %s WHERE observation_id = %s",
                 [a.individual_id, a.observation_id])
    return species


def read_assignments(path: Path) -> list[Assignment]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read ({exc})") from exc
    if rows and not {"observation_id", "individual_id"} <= set(rows[0]):
        raise RegistryError(f"{path}: the header needs observation_id and individual_id (and optionally name, "
                            f"sex, notes)")
    return [Assignment(row["observation_id"].strip(), row["individual_id"].strip(),
                       (row.get("name") or "").strip() or None, (row.get("sex") or "").strip() or None,
                       (row.get("notes") or "").strip() or None) for row in rows]


def import_individuals(conn: psycopg.Connection, path: Path) -> int:
    """Apply every assignment in the CSV at ``path``; a mistake names its line and nothing is applied."""
    assignments = read_assignments(path)
    with conn.transaction():
        for line, assignment in enumerate(assignments, start=2):
            try:
                _assign(conn, assignment)
            except (RegistryError, NotFoundError) as exc:
                raise type(exc)(f"{path}:{line}: {exc}") from None
    return len(assignments)


def write_assignments(path: Path, assignments: list[Assignment]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["observation_id", "individual_id", "name", "sex", "notes"])
        for a in assignments:
            writer.writerow([a.observation_id, a.individual_id, a.name or "", a.sex or "", a.notes or ""])
