"""What a station id may be: one rule for the station's config, provisioning and the central side.

A station id becomes an MQTT topic level (``<root>/<id>/detections``), the ``station_id`` tag of a LoRaWAN
device, a key in the central registry and part of file and host names (``trapd-<id>``). Lowercase letters,
digits, ``-`` and ``_``, starting with a letter or digit, 2 to 63 characters. Host names are stricter still
(no ``_``, ``trapd-<id>`` at most 63 characters): ``station/network/hostname.py`` checks that where a host
name is made, with its own message.
"""

from __future__ import annotations

import re

#: The pattern as pydantic takes it (``Field(pattern=...)``; pydantic's ``$`` is the end of the text).
STATION_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"
_STATION_ID = re.compile(STATION_ID_PATTERN)


def is_station_id(text: str) -> bool:
    """Whether ``text`` is a whole station id (a trailing newline is not, as in pydantic)."""
    return _STATION_ID.fullmatch(text) is not None
