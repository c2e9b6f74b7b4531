"""The station registry: parks (with their country) and stations (park, location, LoRaWAN DevEUI).

Imported from a CSV file with the columns ``station_id, park, country, latitude, longitude`` and optionally
``location_name, dev_eui``. Messages from stations not in the registry are still stored (nothing is
dropped); such stations count as "unregistered" in reports and are left out of exports until registered.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

from station.central.errors import RegistryError
from station.wire.station_id import is_station_id

if TYPE_CHECKING:
    import psycopg

REQUIRED_COLUMNS = ("station_id", "park", "country", "latitude", "longitude")
_DEV_EUI = re.compile(r"^[0-9a-f]{16}$")


@dataclasses.dataclass(frozen=True)
class StationEntry:
    station_id: str
    park: str
    country: str
    latitude: float
    longitude: float
    location_name: str | None = None
    dev_eui: str | None = None


def read_stations_csv(path: Path) -> list[StationEntry]:
    """Parse a registry file; any mistake is one RegistryError naming the file, line and column."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read ({exc})") from exc
    if rows and (missing := [c for c in REQUIRED_COLUMNS if c not in rows[0]]):
        raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}; the header needs "
                            f"{', '.join(REQUIRED_COLUMNS)} (and optionally location_name, dev_eui)")
    return [_entry(path, line, row) for line, row in enumerate(rows, start=2)]


def _entry(path: Path, line: int, row: dict[str, str]) -> StationEntry:
    def bad(column: str, problem: str) -> RegistryError:
        return RegistryError(f"{path}:{line}: {column}: {problem}")

    station_id = (row.get("station_id") or "").strip()
    if not is_station_id(station_id):
        raise bad("station_id", f"{station_id!r} is not a station id (lowercase letters, digits, - and _)")
    country = (row.get("country") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise bad("country", f"{country!r} is not an ISO 3166 two-letter code such as RU or CN")
    coordinates = []
    for column, limit in (("latitude", 90.0), ("longitude", 180.0)):
        try:
            value = float(row.get(column) or "")
        except ValueError:
            raise bad(column, f"{row.get(column)!r} is not a number in decimal degrees") from None
        if not -limit <= value <= limit:
            raise bad(column, f"{value} is outside -{limit}..{limit}")
        coordinates.append(value)
    dev_eui = (row.get("dev_eui") or "").strip().lower() or None
    if dev_eui is not None and not _DEV_EUI.match(dev_eui):
        raise bad("dev_eui", f"{dev_eui!r} is not 16 hex digits")
    park = (row.get("park") or "").strip()
    if not park:
        raise bad("park", "empty; give the park code, e.g. LLNP or TLNP")
    return StationEntry(station_id, park, country, coordinates[0], coordinates[1],
                        (row.get("location_name") or "").strip() or None, dev_eui)


def register_stations(conn: psycopg.Connection, entries: list[StationEntry]) -> int:
    """Insert or update parks and stations; returns how many stations were written."""
    parks = {(e.park, e.country) for e in entries}
    by_park: dict[str, str] = {}
    for park, country in parks:
        if by_park.setdefault(park, country) != country:
            raise RegistryError(f"park {park} is given in two countries ({by_park[park]} and {country})")
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO parks (park_id, country) VALUES (%s, %s) "
                            "ON CONFLICT (park_id) DO UPDATE SET country = EXCLUDED.country", sorted(parks))
            cur.executemany(
                "INSERT INTO stations (station_id, park_id, location_name, latitude, longitude, dev_eui, registered) "
                "VALUES (%s, %s, %s, %s, %s, %s, true) ON CONFLICT (station_id) DO UPDATE SET "
                "park_id = EXCLUDED.park_id, location_name = EXCLUDED.location_name, latitude = EXCLUDED.latitude, "
                "longitude = EXCLUDED.longitude, dev_eui = EXCLUDED.dev_eui, registered = true",
                [(e.station_id, e.park, e.location_name, e.latitude, e.longitude, e.dev_eui) for e in entries])
    return len(entries)


def write_stations_csv(path: Path, entries: list[StationEntry]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*REQUIRED_COLUMNS, "location_name", "dev_eui"])
        for e in entries:
            writer.writerow([e.station_id, e.park, e.country, e.latitude, e.longitude, e.location_name or "",
                             e.dev_eui or ""])


def list_stations(conn: psycopg.Connection) -> list[dict]:
    rows = conn.execute("SELECT s.station_id, s.park_id, p.country, s.latitude, s.longitude, s.dev_eui, s.registered, "
                        "s.state, s.state_at FROM stations s LEFT JOIN parks p USING (park_id) "
                        "ORDER BY s.station_id").fetchall()
    names = ("station_id", "park", "country", "latitude", "longitude", "dev_eui", "registered", "state", "state_at")
    return [dict(zip(names, row, strict=True)) for row in rows]
