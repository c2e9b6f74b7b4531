"""The licences a Camtrap DP package declares for its data and its media.

GBIF publishes occurrence data only under CC0 1.0, CC BY 4.0 or CC BY-NC 4.0, and the camtrapdp R package's
``write_eml`` (the step to GBIF) stops when a package declares no licence with scope ``data``; the media
licence says what others may do with the photos. Both are the parks' choice: ``trapd export
--data-license/--media-license`` for a station, ``[export]`` in central.toml for the central server.
"""

from __future__ import annotations

from typing import Literal

LicenseId = Literal["CC0-1.0", "CC-BY-4.0", "CC-BY-NC-4.0"]
LICENSE_IDS: tuple[str, ...] = ("CC0-1.0", "CC-BY-4.0", "CC-BY-NC-4.0")
DEFAULT_LICENSE: LicenseId = "CC-BY-4.0"

_URLS = {
    "CC0-1.0": "http://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-4.0": "http://creativecommons.org/licenses/by/4.0/",
    "CC-BY-NC-4.0": "http://creativecommons.org/licenses/by-nc/4.0/",
}


def package_licenses(data: str = DEFAULT_LICENSE, media: str = DEFAULT_LICENSE) -> tuple[dict[str, str], ...]:
    """The descriptor's ``licenses``: one with scope data, one with scope media."""
    unknown = sorted({data, media} - set(_URLS))
    if unknown:
        raise ValueError(f"unknown licence {', '.join(unknown)}: choose one of {', '.join(LICENSE_IDS)} "
                         f"(the licences GBIF publishes under)")
    return ({"name": data, "path": _URLS[data], "scope": "data"},
            {"name": media, "path": _URLS[media], "scope": "media"})
