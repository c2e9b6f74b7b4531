"""The three Camtrap DP 1.0.2 tables as Table Schemas, written from the standard's field lists.

The published ``datapackage.json`` points at the standard's own schema URLs (the profile requires that);
the same definitions are kept here so a package can be validated with no internet (``validate.py``).
Fields are listed in the standard's order: Frictionless checks CSV headers by position.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.0.2"
BASE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}"
PROFILE_URL = f"{BASE_URL}/camtrap-dp-profile.json"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
MISSING_VALUES = ["", "NA", "NaN", "nan"]
FEATURE_TYPES = ["roadPaved", "roadDirt", "trailHiking", "trailGame", "roadUnderpass", "roadOverpass",
                 "roadBridge", "culvert", "burrow", "nestSite", "carcass", "waterSource", "fruitingTree"]
OBSERVATION_TYPES = ["animal", "human", "vehicle", "blank", "unknown", "unclassified"]


def _field(name: str, kind: str, *, required: bool = False, **constraints: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind}
    if kind == "datetime":
        field["format"] = DATETIME_FORMAT
    limits = {"required": required, **constraints}
    field["constraints"] = limits
    return field


def _deployments() -> list[dict[str, Any]]:
    return [
        _field("deploymentID", "string", required=True, unique=True),
        _field("locationID", "string"), _field("locationName", "string"),
        _field("latitude", "number", required=True, minimum=-90, maximum=90),
        _field("longitude", "number", required=True, minimum=-180, maximum=180),
        _field("coordinateUncertainty", "integer", minimum=1),
        _field("deploymentStart", "datetime", required=True), _field("deploymentEnd", "datetime", required=True),
        _field("setupBy", "string"), _field("cameraID", "string"), _field("cameraModel", "string"),
        _field("cameraDelay", "integer", minimum=0), _field("cameraHeight", "number", minimum=0),
        _field("cameraDepth", "number", minimum=0), _field("cameraTilt", "integer", minimum=-90, maximum=90),
        _field("cameraHeading", "integer", minimum=0, maximum=360),
        _field("detectionDistance", "number", minimum=0), _field("timestampIssues", "boolean"),
        _field("baitUse", "boolean"), _field("featureType", "string", enum=FEATURE_TYPES),
        _field("habitat", "string"), _field("deploymentGroups", "string"), _field("deploymentTags", "string"),
        _field("deploymentComments", "string"),
    ]


def _media() -> list[dict[str, Any]]:
    return [
        _field("mediaID", "string", required=True, unique=True),
        _field("deploymentID", "string", required=True),
        _field("captureMethod", "string", enum=["activityDetection", "timeLapse"]),
        _field("timestamp", "datetime", required=True),
        # a relative path that does not start with . / or ~ and never climbs out with '..', or a URL
        _field("filePath", "string", required=True, pattern=r"^(?=^[^./~])(^((?!\.{2}).)*$).*$"),
        _field("filePublic", "boolean", required=True), _field("fileName", "string"),
        _field("fileMediatype", "string", required=True, pattern=r"^(image|video|audio)/.*$"),
        _field("exifData", "any"), _field("favorite", "boolean"), _field("mediaComments", "string"),
    ]


def _observations() -> list[dict[str, Any]]:
    return [
        _field("observationID", "string", required=True, unique=True),
        _field("deploymentID", "string", required=True), _field("mediaID", "string"),
        _field("eventID", "string"),
        _field("eventStart", "datetime", required=True), _field("eventEnd", "datetime", required=True),
        _field("observationLevel", "string", required=True, enum=["media", "event"]),
        _field("observationType", "string", required=True, enum=OBSERVATION_TYPES),
        _field("cameraSetupType", "string", enum=["setup", "calibration"]),
        _field("scientificName", "string"), _field("count", "integer", minimum=1),
        _field("lifeStage", "string", enum=["adult", "subadult", "juvenile"]),
        _field("sex", "string", enum=["female", "male"]), _field("behavior", "string"),
        _field("individualID", "string"), _field("individualPositionRadius", "number", minimum=0),
        _field("individualPositionAngle", "number", minimum=-90, maximum=90),
        _field("individualSpeed", "number", minimum=0),
        _field("bboxX", "number", minimum=0, maximum=1), _field("bboxY", "number", minimum=0, maximum=1),
        _field("bboxWidth", "number", minimum=1e-15, maximum=1),
        _field("bboxHeight", "number", minimum=1e-15, maximum=1),
        _field("classificationMethod", "string", enum=["human", "machine"]),
        _field("classifiedBy", "string"), _field("classificationTimestamp", "datetime"),
        _field("classificationProbability", "number", minimum=0, maximum=1),
        _field("observationTags", "string"), _field("observationComments", "string"),
    ]


_KEYS = {
    "deployments": ("deploymentID", []),
    "media": ("mediaID", [("deploymentID", "deployments", "deploymentID")]),
    "observations": ("observationID", [("deploymentID", "deployments", "deploymentID"),
                                       ("mediaID", "media", "mediaID")]),
}
_FIELDS = {"deployments": _deployments, "media": _media, "observations": _observations}
TABLES = tuple(_FIELDS)


def table_schema(table: str) -> dict[str, Any]:
    """The Table Schema of ``table`` (deployments, media or observations), as a fresh dict."""
    primary_key, foreign = _KEYS[table]
    return {"name": table, "fields": _FIELDS[table](), "missingValues": list(MISSING_VALUES),
            "primaryKey": primary_key,
            "foreignKeys": [{"fields": here, "reference": {"resource": other, "fields": there}}
                            for here, other, there in foreign]}


def field_names(table: str) -> list[str]:
    return [field["name"] for field in _FIELDS[table]()]


def schema_url(table: str) -> str:
    return f"{BASE_URL}/{table}-table-schema.json"
