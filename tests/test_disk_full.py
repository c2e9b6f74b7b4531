"""A full card: the station keeps running, frees space by the retention rules, and never deletes a record
or an undelivered detection. The data folder is a small tmpfs (needs root, as in CI; skipped otherwise)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess

import pytest

from tests.conftest import make_config, running_station, wait_until


@contextlib.contextmanager
def small_disk(path, size_kb: int):
    path.mkdir(parents=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip()}); run as root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def counts(db) -> dict:
    with sqlite3.connect(db) as conn:
        return {"events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
                "observations": conn.execute("SELECT count(*) FROM observations").fetchone()[0],
                "deleted_files": conn.execute("SELECT count(*) FROM media WHERE file_deleted_at IS NOT NULL"
                                              ).fetchone()[0],
                "unsent_detections": conn.execute("SELECT count(*) FROM outbox WHERE kind = 'detection' AND "
                                                  "sent_at IS NULL AND dropped_reason IS NULL").fetchone()[0]}


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_card_with_a_link_keeps_capturing_by_deleting_delivered_images(tmp_path, broker):
    with small_disk(tmp_path / "card", 2500) as card:
        config = make_config(card / "data", broker=broker, storage={"min_free_mb": 1},
                             capture={"quiet_period_s": 0.0, "burst_frames": 3},
                             camera={"width": 640, "height": 480}, mqtt={"thumbnail_max_bytes": 0})
        with running_station(config) as app:
            for i in range(45):
                app.parts.trigger_source.fire(("amur_tiger", "blank", "wild_boar")[i % 3])
                assert app.wait_idle(30)
            assert app.healthy()
        result = counts(app.db_path)
    assert result["events"] == 45 and result["observations"] == 45
    assert result["deleted_files"] > 0  # retention made room
    assert app.stats.get("media_write_errors") == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_card_without_a_link_keeps_every_record_and_recovers_when_space_returns(tmp_path):
    with small_disk(tmp_path / "card", 2500) as card:
        config = make_config(card / "data", storage={"min_free_mb": 1},
                             capture={"quiet_period_s": 0.0, "burst_frames": 3},
                             camera={"width": 640, "height": 480})
        ballast = card / "ballast"
        with running_station(config) as app:
            ballast.write_bytes(os.urandom(1_200_000))  # something else filled the card
            for i in range(30):
                app.parts.trigger_source.fire("amur_leopard")
                wait_until(lambda n=i + 1: app.stats.get("bursts") >= n, message=f"burst {i + 1}")  # one burst each
            wait_until(lambda: app.stats.get("media_write_errors") + app.stats.get("store_errors") > 0, timeout=60,
                       interval=0.1, message="a write refused for want of space")
            assert app.healthy()  # nothing crashed; writes wait for space, frames that cannot be kept are counted
            full = counts(app.db_path)
            ballast.unlink()  # the ranger swaps the card / frees space
            app.parts.trigger_source.fire("human")
            assert app.wait_idle(90)
        after = counts(app.db_path)
    assert full["deleted_files"] == 0  # nothing was delivered, so no image was deleted
    assert after["unsent_detections"] == after["events"]  # every undelivered detection kept
    assert after["observations"] == after["events"] > full["observations"]
