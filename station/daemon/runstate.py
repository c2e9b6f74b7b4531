"""A small file saying which process runs the station and since when (for `trapd status`)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from station.fsutil import write_atomic

RUN_STATE = "trapd.run.json"


def write_run_state(data_dir: Path, *, config_fallback: str | None = None) -> None:
    """``config_fallback``: why the station runs on its last-known-good config (None: on the file itself)."""
    state = {"pid": os.getpid(), "started_unix": time.time(), "config_fallback": config_fallback}
    write_atomic(data_dir / RUN_STATE, json.dumps(state).encode())


def clear_run_state(data_dir: Path) -> None:
    (data_dir / RUN_STATE).unlink(missing_ok=True)


def read_run_state(data_dir: Path) -> dict:
    try:
        state = json.loads((data_dir / RUN_STATE).read_text())
    except (OSError, ValueError):
        return {"running": False}
    try:
        os.kill(int(state["pid"]), 0)
        state["running"] = True
    except (OSError, KeyError, ValueError):
        state["running"] = False
    return state
