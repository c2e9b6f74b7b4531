"""Where a station keeps its store inside ``[station] data_dir``: the SQLite database and the media folder beside it.

Every reader and writer (the daemon, its self-test, `trapd status`/`detections`/`salvage`/`export`, the SD-card
import) finds them here, so the layout has one home.
"""

from __future__ import annotations

from pathlib import Path

DB_NAME = "station.db"
MEDIA_DIR = "media"


def station_db_path(data_dir: Path) -> Path:
    """The station database, ``<data_dir>/station.db``."""
    return data_dir / DB_NAME


def media_dir(data_dir: Path) -> Path:
    """The folder of image files, ``<data_dir>/media``, beside the database."""
    return data_dir / MEDIA_DIR
