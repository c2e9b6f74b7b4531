"""Issue 14, item 10: `trapd replay` killed with SIGKILL in the middle of writing a photo left a
``.jpg.*.tmp`` in an event folder that has no rows. The next run (or the station's recovery) sweeps it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from station.config.file import default_config_text
from tests.test_replay_import import GOOD_PHOTOS, sd_card  # noqa: F401  (the module's SD card fixture)

#: Runs `trapd replay` and SIGKILLs the process at the instant its second photo is written to a temp file
#: and fsynced but not yet renamed: the moment a real kill -9 leaves the temp file behind.
KILL_AT_SECOND_RENAME = """
import os, signal, sys
real_replace = os.replace
seen = []
def replace(src, dst, *args, **kwargs):
    if str(src).endswith('.tmp') and '/media/' in str(src):
        seen.append(src)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace
from station.cli.main import main
sys.argv = ['trapd'] + sys.argv[1:]
main()
"""


def test_a_killed_replay_leaves_no_temp_file_after_the_next_run(sd_card: Path, tmp_path: Path) -> None:  # noqa: F811
    config = tmp_path / "station.toml"
    config.write_text(default_config_text({"station": {"id": "sd-import", "data_dir": "data"},
                                           "mqtt": {"enabled": False}}))
    args = ["replay", "-c", str(config), str(sd_card), "--gap", "60", "--utc-offset", "+10:00",
            "--allow-non-field"]  # the rendered card is classified by the toy model, said so explicitly
    killed = subprocess.run([sys.executable, "-c", KILL_AT_SECOND_RENAME, *args], capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL
    media = tmp_path / "data" / "media"
    left = list(media.rglob("*.jpg.*.tmp"))
    assert len(left) == 1  # the attack as the issue saw it
    with sqlite3.connect(tmp_path / "data" / "station.db") as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE event_id = ?", [left[0].parent.name]).fetchone() \
            == (0,)
    again = subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert list(media.rglob("*.tmp")) == [] and not left[0].parent.exists()
    assert len(list(media.rglob("*.jpg"))) == GOOD_PHOTOS
