"""Validate a Camtrap DP 1.0.2 package with no internet.

Two parts: the package-level rules of the Camtrap DP profile (required properties, versions, enums) are
checked here in code, and the three CSV tables are validated by Frictionless against the table schemas
bundled in ``tables.py`` instead of the schema URLs written in ``datapackage.json`` (which would need a
download). With internet, ``frictionless validate datapackage.json`` checks the same package online.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from station.camtrapdp.errors import ValidatorMissingError
from station.camtrapdp.tables import PROFILE_URL, TABLES, VERSION, schema_url, table_schema

CONTRIBUTOR_ROLES = {"contact", "principalInvestigator", "rightsHolder", "publisher", "contributor"}
SAMPLING_DESIGNS = {"simpleRandom", "systematicRandom", "clusteredRandom", "experimental", "targeted",
                    "opportunistic"}
REQUIRED = ("resources", "profile", "created", "contributors", "project", "spatial", "temporal", "taxonomic")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def validate_package(folder: Path) -> list[str]:
    """Every problem found in the package in ``folder``, as readable lines; an empty list means valid."""
    try:
        descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"datapackage.json: cannot be read ({exc})"]
    problems = descriptor_problems(descriptor)
    return problems + table_problems(folder, descriptor)


def descriptor_problems(descriptor: dict[str, Any]) -> list[str]:
    """The Camtrap DP profile's package-level rules."""
    problems = [f"datapackage.json: missing required property {key!r}" for key in REQUIRED if key not in descriptor]
    if descriptor.get("profile") != PROFILE_URL:
        problems.append(f"datapackage.json: profile must be {PROFILE_URL}")
    names = {r.get("name"): r for r in descriptor.get("resources", [])}
    for table in TABLES:
        resource = names.get(table)
        if resource is None:
            problems.append(f"datapackage.json: resource {table!r} is missing")
        elif resource.get("schema") != schema_url(table) or resource.get("profile") != "tabular-data-resource":
            problems.append(f"datapackage.json: resource {table!r} must use profile tabular-data-resource "
                            f"and schema {schema_url(table)}")
    problems += _contributor_problems(descriptor.get("contributors", []))
    problems += _project_problems(descriptor.get("project", {}))
    temporal = descriptor.get("temporal", {})
    if not all(_DATE.match(str(temporal.get(key, ""))) for key in ("start", "end")):
        problems.append("datapackage.json: temporal needs start and end as YYYY-MM-DD")
    if any("scientificName" not in taxon for taxon in descriptor.get("taxonomic", [])):
        problems.append("datapackage.json: every taxonomic entry needs a scientificName")
    licenses = descriptor.get("licenses")
    if not isinstance(licenses, list) or {item.get("scope") for item in licenses if isinstance(item, dict)} != {
            "data", "media"}:
        problems.append("datapackage.json: licenses need one with scope data and one with scope media "
                        "(GBIF and camtrapdp's write_eml refuse a package without them)")
    return problems


def _contributor_problems(contributors: list[dict[str, Any]]) -> list[str]:
    if not contributors:
        return ["datapackage.json: at least one contributor is required"]
    return [f"datapackage.json: contributor {c.get('title')!r} has role {c['role']!r}, not one of "
            f"{sorted(CONTRIBUTOR_ROLES)}" for c in contributors if "role" in c and c["role"] not in CONTRIBUTOR_ROLES]


def _project_problems(project: dict[str, Any]) -> list[str]:
    problems = [f"datapackage.json: project.{key} is required" for key in
                ("title", "samplingDesign", "captureMethod", "individualAnimals", "observationLevel")
                if key not in project]
    if project.get("samplingDesign", "targeted") not in SAMPLING_DESIGNS:
        problems.append(f"datapackage.json: project.samplingDesign must be one of {sorted(SAMPLING_DESIGNS)}")
    if not set(project.get("captureMethod", ["activityDetection"])) <= {"activityDetection", "timeLapse"}:
        problems.append("datapackage.json: project.captureMethod takes activityDetection and/or timeLapse")
    if not set(project.get("observationLevel", ["event"])) <= {"media", "event"}:
        problems.append("datapackage.json: project.observationLevel takes media and/or event")
    return problems


def table_problems(folder: Path, descriptor: dict[str, Any]) -> list[str]:
    """Frictionless over the CSV tables, with the bundled schemas (foreign keys included)."""
    try:
        import frictionless
    except ImportError:
        raise ValidatorMissingError("validating a Camtrap DP package needs frictionless: "
                                    "pip install 'trapd[central]' (or pip install frictionless)") from None
    local = copy.deepcopy(descriptor)
    local.pop("profile", None)  # the profile URL would be downloaded; its rules are checked above
    local["resources"] = [_local_resource(r) for r in local.get("resources", []) if r.get("name") in TABLES]
    report = frictionless.Package(local, basepath=str(folder)).validate()
    if report.valid:
        return []
    lines = [f"{task.name}.csv: {error.message}" for task in report.tasks for error in task.errors]
    lines += [f"datapackage.json: {error.message}" for error in report.errors]
    return lines[:50]


def _local_resource(resource: dict[str, Any]) -> dict[str, Any]:
    name = resource["name"]
    local = {key: value for key, value in resource.items() if key != "schema"}
    local["schema"] = table_schema(name)
    return local


__all__ = ["VERSION", "ValidatorMissingError", "validate_package", "descriptor_problems", "table_problems"]
