"""`trapd replay`: an SD card of a conventional camera trap imported like live captures, resumable.

The card is rendered: nested camera folders of JPEGs whose EXIF DateTimeOriginal is written with Pillow,
plus the files real cards carry that are not photos or cannot be read.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import ExifTags, Image

from station.cli.replay import replay
from station.config.file import default_config_text
from station.hardware.scenes import Scene, render
from station.replay.importer import PENDING_KEY, ImportSettings, ReplayImporter
from station.replay.scan import DatedPhoto, Photo, group_sequences, parse_utc_offset
from station.store.repo import StationStore
from tests.conftest import make_config

T0 = datetime(2025, 11, 3, 21, 40, 0)  # camera clock, local time (Vladivostok, UTC+10)
VLADIVOSTOK = timezone(timedelta(hours=10))
#: camera folder -> (subject, seconds after T0) per photo
CARD = {
    "site-12/cam-A/DCIM/100RECNX": [("amur_tiger", 0), ("amur_tiger", 2), ("amur_tiger", 4),
                                   ("blank", 600), ("blank", 602)],
    "site-12/cam-B": [("amur_leopard", 30), ("amur_leopard", 31), ("amur_leopard", 33)],
    "site-40/cam-C/DCIM/100RECNX": [("wild_boar", 5000)],
}
GOOD_PHOTOS = sum(len(photos) for photos in CARD.values()) + 1  # + one photo without EXIF
NO_EXIF = "site-40/cam-C/DCIM/100RECNX/IMG_9000.JPG"
NO_EXIF_MTIME = datetime(2025, 11, 3, 13, 3, 30, tzinfo=UTC)  # 10 s after the boar photo


def write_photo(path: Path, subject: str, seed: int, taken: datetime | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif[ExifTags.Base.Model] = "Reconyx HP2X"
    Image.fromarray(render(Scene(subject, seed=seed), (320, 240), seed % 3)).save(path, "JPEG", quality=85,
                                                                                 exif=exif.tobytes())


@pytest.fixture(scope="module")
def sd_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sdcard")
    seed = 920_000
    for folder, photos in CARD.items():
        for i, (subject, seconds) in enumerate(photos):
            write_photo(root / folder / f"IMG_{i:04d}.JPG", subject, seed, T0 + timedelta(seconds=seconds))
            seed += 1
    write_photo(root / NO_EXIF, "wild_boar", seed, None)
    os.utime(root / NO_EXIF, (NO_EXIF_MTIME.timestamp(), NO_EXIF_MTIME.timestamp()))
    broken = root / "site-12/cam-B/IMG_0003.JPG"
    broken.write_bytes((root / "site-12/cam-B/IMG_0000.JPG").read_bytes()[:2000])  # the card died mid-write
    (root / "site-12/cam-B/IMG_0004.JPG").write_bytes(b"")
    (root / "site-12/cam-B/IMG_0005.JPG").write_text("not a photo at all")
    (root / "site-12/cam-A/DCIM/100RECNX/IMG_0001.AVI").write_bytes(b"RIFF....AVI ")
    (root / "site-12/cam-A/DCIM/100RECNX/._IMG_0000.JPG").write_bytes(b"\0\5\26\7 apple double")
    return root


def importer(tmp_path: Path) -> ReplayImporter:
    # The toy pipeline model decides the simulated scenes; it is not a field model, so allowed explicitly.
    return ReplayImporter(make_config(tmp_path / "data"), allow_non_field=True)


def settings(gap_s: float = 60.0) -> ImportSettings:
    return ImportSettings(gap_s=gap_s, max_frames=100, camera_zone=VLADIVOSTOK)


def query(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "data" / "station.db") as conn:
        return conn.execute(sql).fetchall()


def test_photos_are_grouped_per_camera_folder_by_the_gap() -> None:
    def dated(camera: str, seconds: float) -> DatedPhoto:
        photo = Photo(Path(f"/card/{camera}/{seconds}.jpg"), f"{camera}/{seconds}.jpg", 1, 1, camera)
        return DatedPhoto(photo, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds), "exif")

    photos = [dated("a", s) for s in (0, 10, 20, 200, 205)] + [dated("b", s) for s in (5, 15)]
    grouped = group_sequences(photos, gap_s=60, max_frames=100)
    assert [[p.photo.key for p in g] for g in grouped] == [["a/0.jpg", "a/10.jpg", "a/20.jpg"],
                                                          ["a/200.jpg", "a/205.jpg"], ["b/5.jpg", "b/15.jpg"]]
    assert [len(g) for g in group_sequences(photos, gap_s=1000, max_frames=100)] == [5, 2]
    assert [len(g) for g in group_sequences(photos, gap_s=1000, max_frames=2)] == [2, 2, 1, 2]
    assert parse_utc_offset("+10:00") == VLADIVOSTOK and parse_utc_offset("local") is None
    with pytest.raises(ValueError, match="like \\+10:00"):
        parse_utc_offset("Vladivostok")


def test_a_card_is_stored_like_live_captures(sd_card: Path, tmp_path: Path) -> None:
    report = importer(tmp_path).run(sd_card, settings())
    assert (report.imported, report.sequences, report.interrupted) == (GOOD_PHOTOS, 4, False)
    assert report.dated_by_mtime == 1
    assert dict(report.detections) == {"amur_tiger": 1, "amur_leopard": 1, "wild_boar": 1}
    events = query(tmp_path, "SELECT e.start, e.end, e.trigger_source, e.state, e.model, count(m.media_id) "
                             "FROM events e JOIN media m USING (event_id) GROUP BY e.event_id ORDER BY e.start")
    assert [(start, end, frames) for start, end, _, _, _, frames in events] == [
        ("2025-11-03T11:40:00.000Z", "2025-11-03T11:40:04.000Z", 3),  # tiger, EXIF time at UTC+10
        ("2025-11-03T11:40:30.000Z", "2025-11-03T11:40:33.000Z", 3),  # leopard, another camera
        ("2025-11-03T11:50:00.000Z", "2025-11-03T11:50:02.000Z", 2),  # empty, 10 minutes later
        ("2025-11-03T13:03:20.000Z", "2025-11-03T13:03:30.000Z", 2)]  # boar; the second dated by its mtime
    assert {row[2:5] for row in events} == {("import", "closed", "trapd-pipeline-v1 1.0.0")}
    species = query(tmp_path, "SELECT e.start, o.observation_type, o.species_key FROM observations o "
                              "JOIN events e USING (event_id) ORDER BY e.start")
    assert [row[1:] for row in species] == [("animal", "amur_tiger"), ("animal", "amur_leopard"), ("blank", None),
                                            ("animal", "wild_boar")]
    outbox = query(tmp_path, "SELECT kind, count(*) FROM outbox WHERE sent_at IS NULL GROUP BY kind")
    assert dict(outbox) == {"detection": 4, "media": 3}  # forwarded when an uplink is up; thumbnails too
    stored = query(tmp_path, "SELECT r.source_path, m.file_path, m.bytes, r.time_source FROM replay_imports r "
                             "JOIN media m USING (media_id)")
    for source, media_path, size, time_source in stored:
        data = (tmp_path / "data" / "media" / media_path).read_bytes()
        assert data == (sd_card / source).read_bytes() and len(data) == size  # bytes unchanged, EXIF kept
        assert time_source == ("mtime" if source == NO_EXIF else "exif")


def test_unreadable_files_are_counted_with_their_reason(sd_card: Path, tmp_path: Path) -> None:
    report = importer(tmp_path).run(sd_card, settings())
    assert report.skipped_total == 5
    reasons = dict(report.skipped)
    assert reasons.pop("empty file") == 1
    assert reasons.pop("not a JPEG photo (.AVI)") == 1
    assert reasons.pop("not an image Pillow can read") == 1
    assert reasons.pop("macOS metadata file (._*), not a photo") == 1
    assert list(reasons.values()) == [1] and ("unreadable" in list(reasons)[0] or "cannot read" in list(reasons)[0])
    skipped = query(tmp_path, "SELECT source_path, reason FROM replay_imports WHERE status = 'skipped'")
    assert len(skipped) == 5 and all(reason for _, reason in skipped)
    again = importer(tmp_path).run(sd_card, settings())  # nothing is tried twice
    assert (again.imported, again.skipped_total, again.done_before) == (0, 0, GOOD_PHOTOS + 5)


def test_an_interrupted_import_resumes_and_imports_the_rest_once(sd_card: Path, tmp_path: Path) -> None:
    stop = threading.Event()

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "importing":
            stop.set()  # as Ctrl-C would: the sequence in progress finishes, nothing more starts

    first = importer(tmp_path).run(sd_card, settings(), stop=stop, progress=progress)
    assert first.interrupted and first.sequences == 1 and first.imported == 3
    second = importer(tmp_path).run(sd_card, settings())
    assert not second.interrupted and second.sequences == 3 and second.imported == GOOD_PHOTOS - 3
    assert second.done_before == first.imported + first.skipped_total  # nothing of the first run redone
    assert query(tmp_path, "SELECT count(*), count(DISTINCT source_path) FROM replay_imports "
                           "WHERE status = 'imported'") == [(GOOD_PHOTOS, GOOD_PHOTOS)]
    assert query(tmp_path, "SELECT count(*) FROM media") == [(GOOD_PHOTOS,)]
    assert query(tmp_path, "SELECT count(*) FROM events WHERE state = 'closed'") == [(4,)]
    files = list((tmp_path / "data" / "media").rglob("*.jpg"))
    assert len(files) == GOOD_PHOTOS


def test_a_sequence_that_never_committed_leaves_nothing_behind(sd_card: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def power_cut(*args, **kwargs):
        raise KeyboardInterrupt  # a second Ctrl-C, inside the sequence's transaction

    monkeypatch.setattr(StationStore, "close_sequence", power_cut)  # after its event and media rows
    with pytest.raises(KeyboardInterrupt):
        importer(tmp_path).run(sd_card, settings())
    assert list((tmp_path / "data" / "media").rglob("*.jpg")) == []
    assert query(tmp_path, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM media), "
                           "(SELECT count(*) FROM replay_imports WHERE status = 'imported')") == [(0, 0, 0)]
    monkeypatch.undo()
    orphan = tmp_path / "data" / "media" / "2025-11-03" / "0193b2c4-5a10-7b22-9d4e-61f0a2b3c4d5"
    orphan.mkdir(parents=True)  # what a kill -9 between writing files and committing would leave
    (orphan / "00-00_0193b2c4-5b77-7e01-8f00-112233445566.jpg").write_bytes(b"\xff\xd8 partial")
    store = StationStore(tmp_path / "data" / "station.db")
    store.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [PENDING_KEY, orphan.name])
    store.db.conn.commit()
    store.close()
    report = importer(tmp_path).run(sd_card, settings())
    assert report.imported == GOOD_PHOTOS
    assert len(list((tmp_path / "data" / "media").rglob("*.jpg"))) == GOOD_PHOTOS
    assert query(tmp_path, f"SELECT count(*) FROM kv WHERE key = '{PENDING_KEY}'") == [(0,)]


def test_replay_command(sd_card: Path, tmp_path: Path) -> None:
    config = tmp_path / "station.toml"
    config.write_text(default_config_text({"station": {"id": "sd-import", "data_dir": "data"},
                                           "mqtt": {"enabled": False}}))
    runner = CliRunner()
    refused = runner.invoke(replay, ["-c", str(config), str(sd_card), "--utc-offset", "+10:00"])
    assert refused.exit_code == 2 and "trapd-pipeline-v1 1.0.0 is not a field model" in refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "data" / "station.db").exists()
    report = tmp_path / "photos.csv"
    result = runner.invoke(replay, ["-c", str(config), str(sd_card), "--gap", "60", "--utc-offset", "+10:00",
                                    "--allow-non-field", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "models: trapd-pipeline-v1 1.0.0" in result.output
    assert f"imported {GOOD_PHOTOS} photos in 4 sequences" in result.output
    assert "skipped 5 files" in result.output and "empty file" in result.output
    assert "1 photos dated by their file's modification time" in result.output
    rows = {row["file"]: row for row in csv.DictReader(report.open(encoding="utf-8"))}
    assert len(rows) == GOOD_PHOTOS and f"per-photo report: {report} ({GOOD_PHOTOS} photos)" in result.output
    tiger = rows["site-12/cam-A/DCIM/100RECNX/IMG_0000.JPG"]
    assert (tiger["observation_type"], tiger["species"], tiger["time"]) == ("animal", "amur_tiger",
                                                                            "2025-11-03T11:40:00.000Z")
    assert tiger["time_source"] == "exif" and tiger["models"] == "trapd-pipeline-v1 1.0.0"
    assert rows[NO_EXIF]["time_source"] == "mtime"
    assert rows["site-12/cam-A/DCIM/100RECNX/IMG_0003.JPG"]["observation_type"] == "blank"
    assert len({rows[k]["sequence"] for k in rows if k.startswith("site-12/cam-A")}) == 2
    again = runner.invoke(replay, ["-c", str(config), str(sd_card), "--utc-offset", "+10:00", "--allow-non-field"])
    assert again.exit_code == 0 and "imported 0 photos" in again.output
    bad = runner.invoke(replay, ["-c", str(config), str(sd_card), "--utc-offset", "Vladivostok"])
    assert bad.exit_code == 2 and "--utc-offset" in bad.output


def test_the_camtrap_dp_export_keeps_card_paths_and_flags_file_dates(sd_card: Path, tmp_path: Path) -> None:
    from station.camtrapdp.station_export import StationExport, export_station
    from station.camtrapdp.validate import validate_package

    importer(tmp_path).run(sd_card, settings())
    out = tmp_path / "package"
    export_station(tmp_path / "data" / "station.db", tmp_path / "data" / "media", out,
                   StationExport(station_id="test-station", park="LLNP", country="RU", latitude=43.1, longitude=131.4))
    assert validate_package(out) == []
    media = {row["fileName"]: row for row in csv.DictReader((out / "media.csv").open(encoding="utf-8"))}
    assert "site-12/cam-A/DCIM/100RECNX/IMG_0000.JPG" in media and NO_EXIF in media
    assert "modification date" in media[NO_EXIF]["mediaComments"]
    assert not media["site-12/cam-B/IMG_0000.JPG"]["mediaComments"]
    deployments = list(csv.DictReader((out / "deployments.csv").open(encoding="utf-8")))
    assert [row["timestampIssues"] for row in deployments] == ["true"]
