"""central.toml as pydantic models: unknown keys rejected, every field bounded and described.

A mistake in the file is one ConfigError naming the file, the key path and the problem (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from station.camtrapdp.licenses import DEFAULT_LICENSE, LicenseId
from station.config.load import format_validation_error
from station.config.toml import read_toml
from station.errors import ConfigError

DEFAULT_CENTRAL_CONFIG = "central.toml"


class CentralSection(BaseModel):
    """A table of the central server's config (the station's own tables derive from station.config.models.Section)."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSection(CentralSection):
    """Where the central store lives."""

    url: str = Field("postgresql://postgres@127.0.0.1:5432/test",
                     description="libpq connection URL of the PostgreSQL database.")
    db_schema: str = Field("trapd", alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
                           description="PostgreSQL schema that holds the central tables (created if missing).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CentralMqttSection(CentralSection):
    """The broker the stations and the LoRaWAN network server publish to."""

    host: str = Field("127.0.0.1", description="Broker host.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(None, description="Broker user name, if the broker wants one.")
    password: str | None = Field(None, description="Broker password.")
    topic_root: str = Field("camtrap/v1", description="Topic root of the stations (their mqtt.topic_root).")
    share_group: str = Field("ingest", pattern=r"^[A-Za-z0-9_-]+$",
                             description="Shared-subscription group: workers in one group split the messages.")
    chirpstack_topic: str = Field("application/+/device/+/event/up",
                                  description="ChirpStack v4 MQTT integration topic of uplink events; "
                                              "empty to not listen for LoRa.")
    client_id: str = Field("trapd-central", pattern=r"^[A-Za-z0-9_-]+$",
                           description="Client id prefix; worker N connects as <client_id>-<N>.")
    receive_maximum: int = Field(500, ge=10, le=65535,
                                 description="Messages the broker may have in flight to one worker (MQTT 5).")
    session_expiry_s: int = Field(3600, ge=0, le=604_800,
                                  description="How long the broker keeps a worker's session while it is away.")


class IngestSection(CentralSection):
    """How workers write to PostgreSQL."""

    batch_size: int = Field(200, ge=1, le=5000, description="Messages written per transaction at most.")


class Band(CentralSection):
    level: int = Field(ge=1, le=9, description="Warning level (1 is the most urgent).")
    max_km: float = Field(gt=0, le=100, description="Applies to distances below this many km.")


class Settlement(CentralSection):
    name: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class ProtectedZone(CentralSection):
    name: str
    polygon: list[tuple[float, float]] = Field(min_length=3, description="Corners as [latitude, longitude].")


def default_bands() -> list[Band]:
    # TLNP's graded warnings: level 1 under 1 km, level 2 at 1-2 km, level 3 at 3-5 km. The 2-3 km gap
    # is closed towards the more urgent side: a cat at 2.5 km gets level 2 (see docs/central.md).
    return [Band(level=1, max_km=1.0), Band(level=2, max_km=3.0), Band(level=3, max_km=5.0)]


class AlertsSection(CentralSection):
    """Human-wildlife conflict warnings and ranger alerts."""

    topic_root: str = Field("camtrap-central/v1/alerts",
                            description="Alerts go to <topic_root>/conflict and <topic_root>/ranger.")
    species: list[str] = Field(["amur_tiger", "amur_leopard"], description="Species that raise conflict alerts.")
    bands: list[Band] = Field(default_factory=default_bands, description="Distance bands, nearest first.")
    settlements: list[Settlement] = Field(default_factory=list, description="Villages, as points.")
    protected_zones: list[ProtectedZone] = Field(default_factory=list,
                                                 description="Zones where a person raises a ranger alert.")

    @model_validator(mode="after")
    def _bands_ascend(self) -> AlertsSection:
        limits = [band.max_km for band in self.bands]
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise ValueError("bands must be listed nearest first, each max_km larger than the one before")
        return self


class ExportSection(CentralSection):
    """How exported Camtrap DP packages describe themselves."""

    title: str = Field("Amur tiger and leopard camera traps, LLNP and TLNP", description="Package title.")
    project_title: str = Field("Transboundary Amur tiger and leopard monitoring", description="Project title.")
    contact: str = Field("LLNP and TLNP camera-trap teams", description="Contact contributor (role contact).")
    data_license: LicenseId = Field(DEFAULT_LICENSE, description="Licence of the exported tables; GBIF publishes "
                                    "under CC0-1.0, CC-BY-4.0 or CC-BY-NC-4.0.")
    media_license: LicenseId = Field(DEFAULT_LICENSE, description="Licence of the exported photos.")


class ReportSection(CentralSection):
    """The joint cross-border report (`trapd central report`)."""

    border: list[tuple[float, float]] = Field(
        default_factory=list, max_length=10_000,
        description="The state border as a line of [latitude, longitude] points, for the distance of each "
                    "animal's sightings from the border; empty: that part of the report is left out.")

    @model_validator(mode="after")
    def _a_line(self) -> ReportSection:
        if len(self.border) == 1:
            raise ValueError("border needs at least two points (or none)")
        for latitude, longitude in self.border:
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise ValueError(f"border point [{latitude}, {longitude}] is not a latitude and a longitude")
        return self


class CentralConfig(CentralSection):
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    mqtt: CentralMqttSection = Field(default_factory=CentralMqttSection)
    ingest: IngestSection = Field(default_factory=IngestSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    export: ExportSection = Field(default_factory=ExportSection)
    report: ReportSection = Field(default_factory=ReportSection)


def validate_central_config(raw: dict, *, source: str) -> CentralConfig:
    try:
        return CentralConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None


def load_central_config(path: Path | None) -> CentralConfig:
    """Read ``path`` (None or a missing default file: all defaults); problems are one ConfigError."""
    if path is None:
        return CentralConfig()
    raw = read_toml(path, error=ConfigError, missing=f"no such file; write one with `trapd central init {path}`")
    return validate_central_config(raw, source=str(path))


EXAMPLE_CONFIG = """\
# trapd central server. Every key is optional; these are the defaults unless marked "example".
[database]
url = "postgresql://postgres@127.0.0.1:5432/test"
schema = "trapd"

[mqtt]
host = "127.0.0.1"
port = 1883
topic_root = "camtrap/v1"                          # the stations' mqtt.topic_root
share_group = "ingest"                             # workers in one group split the messages
chirpstack_topic = "application/+/device/+/event/up"
client_id = "trapd-central"

[ingest]
batch_size = 200

[alerts]
topic_root = "camtrap-central/v1/alerts"
species = ["amur_tiger", "amur_leopard"]
bands = [{level = 1, max_km = 1.0}, {level = 2, max_km = 3.0}, {level = 3, max_km = 5.0}]
# example villages and zones:
settlements = [{name = "Example village", latitude = 43.10, longitude = 130.95, country = "CN"}]
protected_zones = [{name = "Example core zone", polygon = [[43.0, 130.8], [43.0, 131.0], [43.2, 131.0], [43.2, 130.8]]}]

[export]
title = "Amur tiger and leopard camera traps, LLNP and TLNP"
project_title = "Transboundary Amur tiger and leopard monitoring"
contact = "LLNP and TLNP camera-trap teams"
"""
