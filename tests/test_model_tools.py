"""`trapd model check|eval|bench` on the bundled and the ImageNet card, labelled data, and model swaps.

The labelled folder is rendered by the simulated camera's renderer (seeds 910000+, never used in
training). The ImageNet model lives outside the project (../shared/models); its tests are skipped where it
is absent. A swap on a running station goes through ``StationApp.reload_model`` (what the MQTT
``model_reload`` command calls): a bad model is refused and the old one keeps classifying.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from station.cli.model import model
from station.errors import ModelError
from station.hardware.scenes import SUBJECTS, Scene, render
from station.vision.bundled import bundled_card
from station.vision.card import sha256_of
from station.vision.dataset import DatasetError, load_label_map, read_camtrap_dp, read_labelled_folder
from station.vision.quantize import pair_table
from tests.conftest import ROOT, make_config, running_station, wait_until

IMAGENET_CARD = ROOT / "models" / "imagenet-mobilenet-v2.toml"
SHARED_IMAGENET = Path(__file__).resolve().parents[2] / "shared" / "models" / "imagenet-mobilenet-v2"
needs_shared_model = pytest.mark.skipif(
    not SHARED_IMAGENET.is_dir(),
    reason=f"third-party ImageNet model folder {SHARED_IMAGENET} is absent (it is never copied into the project)")
PHOTOS_PER_SUBJECT = 6


def render_photo(path: Path, subject: str, seed: int, size: tuple[int, int] = (320, 240)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(render(Scene(subject, night=seed % 2 == 1, seed=seed), size, seed % 3)).save(path, quality=90)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labelled")
    for n, subject in enumerate(SUBJECTS):
        for i in range(PHOTOS_PER_SUBJECT):
            render_photo(root / subject / f"{i:03d}.jpg", subject, 910_000 + 100 * n + i)
    return root


@pytest.fixture
def card_copy(tmp_path: Path) -> Path:
    """A copy of the bundled card and model that a test may damage."""
    card = bundled_card()
    shutil.copy(card.parent / "trapd-pipeline-v1.tflite", tmp_path / "trapd-pipeline-v1.tflite")
    shutil.copy(card, tmp_path / card.name)
    return tmp_path / card.name


def edit(card: Path, pattern: str, replacement: str) -> Path:
    text, count = re.subn(pattern, replacement, card.read_text(encoding="utf-8"), count=1, flags=re.M)
    assert count == 1, pattern
    card.write_text(text, encoding="utf-8")
    return card


def invoke(*args: str):
    return CliRunner().invoke(model, [str(a) for a in args])


# -- check ---------------------------------------------------------------------------------------------------
def test_check_passes_the_bundled_card() -> None:
    result = invoke("check", bundled_card())
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line[:4] in ("PASS", "FAIL")]
    assert len(lines) >= 10 and all(line.startswith("PASS") for line in lines)
    for name in ("sha256", "input shape", "input dtype", "output count", "labels", "catalogue", "classify"):
        assert any(line[6:].startswith(name) for line in lines), name


@pytest.mark.parametrize("damage, failed, says", [
    (lambda card: card.write_text("name = [unclosed\n"), "card", "cannot read model card"),
    (lambda card: edit(card, r'^sha256 = ".*"$', 'sha256 = "' + "0" * 64 + '"'), "sha256", "corrupt"),
    (lambda card: edit(card, r"^width = \d+$", "width = 17"), "input shape", "card says [1, 64, 17, 3]"),
    (lambda card: edit(card, r"^code = 11$", "code = 99"), "catalogue", "the catalogue says 11"),
    (lambda card: (card.parent / "trapd-pipeline-v1.tflite").write_bytes(b"\0" * 100), "sha256", "corrupt"),
])
def test_check_refuses_a_broken_card_with_a_clear_message(card_copy: Path, damage, failed: str, says: str) -> None:
    damage(card_copy)
    result = invoke("check", card_copy)
    assert result.exit_code == 1, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("FAIL"))
    assert line[6:].startswith(failed) and says in line, result.output
    assert "the station will refuse this model" in result.output


def test_check_of_a_missing_card_is_a_usage_mistake(tmp_path: Path) -> None:
    result = invoke("check", tmp_path / "nowhere.toml")
    assert result.exit_code == 2 and "does not exist" in result.output


# -- eval ----------------------------------------------------------------------------------------------------
def check_pictures(out: Path) -> None:
    for name, least in (("confusion.png", (300, 250)), ("tradeoff.png", (600, 400))):
        with Image.open(out / name) as picture:
            picture.load()
            assert picture.format == "PNG" and picture.width >= least[0] and picture.height >= least[1]
            assert picture.width <= 3000 and picture.height <= 3000
            assert len(picture.getcolors(1 << 16) or range(300)) > 3  # something was drawn


def test_eval_of_the_bundled_card(labelled: Path, tmp_path: Path) -> None:
    result = invoke("eval", bundled_card(), labelled, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["photos"] == PHOTOS_PER_SUBJECT * len(SUBJECTS)
    assert report["accuracy"] >= 0.9 and report["top1_accuracy"] >= 0.9
    assert set(report["per_class"]) == set(SUBJECTS)
    assert all(row["recall"] >= 0.5 and row["precision"] >= 0.5 for row in report["per_class"].values())
    assert report["per_class"]["human"]["threshold"] == 0.4  # the card's own threshold
    assert report["confusion"]["labels"][0] == "blank" and len(report["confusion"]["matrix"]) == len(SUBJECTS)
    curve = report["empty_vs_animal"]["single_threshold"]
    assert [p["threshold"] for p in curve][:2] == [0.05, 0.1]
    assert all(0.0 <= p["empty_kept"] <= 1.0 and 0.0 <= p["animals_missed"] <= 1.0 for p in curve)
    assert curve[0]["animals_missed"] <= curve[-1]["animals_missed"]  # a higher threshold misses more
    check_pictures(tmp_path / "out")
    table = (tmp_path / "out" / "confusion.txt").read_text()
    assert "amur_leopard" in table and "recall" in table
    assert "accuracy at the card's thresholds" in result.output and "precision" in result.output


def test_eval_counts_unreadable_photos_and_maps_folder_names(labelled: Path, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    shutil.copytree(labelled / "amur_tiger", root / "Tiger")
    shutil.copytree(labelled / "blank", root / "empty")
    (root / "Tiger" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (root / "Tiger" / "notes.txt").write_text("field notes")
    labels = tmp_path / "labels.toml"
    labels.write_text('[labels]\nTiger = "amur_tiger"\nempty = "blank"\n')
    result = invoke("eval", bundled_card(), root, "--labels", labels, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["photos_per_class"] == {"amur_tiger": PHOTOS_PER_SUBJECT, "blank": PHOTOS_PER_SUBJECT}
    skipped = report["skipped"]
    assert skipped.pop("not an image (.txt)") == 1
    assert list(skipped.values()) == [1] and list(skipped)[0].startswith("unreadable: ")
    unmapped = invoke("eval", bundled_card(), root, "-o", tmp_path / "out2")
    assert unmapped.exit_code == 1 and "Tiger" in unmapped.output and "--labels" in unmapped.output


# -- bench ---------------------------------------------------------------------------------------------------
def run_bench(card: Path) -> dict:
    result = invoke("bench", card, "--seconds", "0.6", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def check_bench(figures: dict, name: str) -> None:
    assert figures["model"].startswith(name)
    assert 0 < figures["bare_invoke_ms"] <= figures["bare_invoke_p90_ms"]
    assert 0 < figures["classify_step_ms"] <= figures["classify_step_p90_ms"]
    # the figure is the step over the bare invoke; whether it meets the 1.10 target is tests/bench's (bench_pipeline)
    assert figures["ratio"] == pytest.approx(figures["classify_step_ms"] / figures["bare_invoke_ms"], abs=2e-3)
    assert figures["target_ratio"] == 1.10 and figures["calls"] >= 50
    assert figures["rss_with_model_mb"] > 10 and figures["interpreter_threads"] == 2
    assert figures["process_threads"] >= 1


def test_bench_of_the_bundled_card() -> None:
    check_bench(run_bench(bundled_card()), "trapd-pipeline-v1")


def test_two_pixel_lookup_table_matches_the_plain_one() -> None:
    rng = np.random.default_rng(1)
    for dtype in (np.uint8, np.int8):
        info = np.iinfo(dtype)
        lut = rng.integers(info.min, info.max + 1, 256).astype(dtype)
        pixels = rng.integers(0, 256, (7, 10, 3)).astype(np.uint8)
        paired = np.take(pair_table(lut), pixels.reshape(-1).view(np.uint16)).view(dtype).reshape(pixels.shape)
        assert np.array_equal(paired, np.take(lut, pixels))


# -- the ImageNet card ---------------------------------------------------------------------------------------
@needs_shared_model
def test_imagenet_card_checks_evaluates_and_benches(labelled: Path, tmp_path: Path) -> None:
    checked = invoke("check", IMAGENET_CARD)
    assert checked.exit_code == 0, checked.output
    assert "239 of 1001 outputs mapped to 17 species" in checked.output
    result = invoke("eval", IMAGENET_CARD, labelled, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["photos"] == PHOTOS_PER_SUBJECT * len(SUBJECTS) and 0.0 <= report["accuracy"] <= 1.0
    assert report["per_class"]["blank"]["support"] == PHOTOS_PER_SUBJECT
    check_pictures(tmp_path / "out")
    check_bench(run_bench(IMAGENET_CARD), "imagenet-mobilenet-v2")


# -- labelled data -------------------------------------------------------------------------------------------
def test_labelled_folder_refuses_unknown_class_names(tmp_path: Path) -> None:
    render_photo(tmp_path / "tigre" / "a.jpg", "amur_tiger", 1)
    with pytest.raises(DatasetError, match="tigre.*--labels"):
        read_labelled_folder(tmp_path)
    (tmp_path / "bad.toml").write_text('tigre = "tiger"\n')
    with pytest.raises(DatasetError, match="not species keys"):
        load_label_map(tmp_path / "bad.toml")
    assert read_labelled_folder(tmp_path, {"tigre": "amur_tiger"}).counts() == {"amur_tiger": 1}


def test_camtrap_dp_package_gives_one_label_per_photo(tmp_path: Path) -> None:
    media = [("m1", "d1", "2025-01-01T10:00:00Z", "amur_tiger"), ("m2", "d1", "2025-01-01T10:00:02Z", "amur_tiger"),
             ("m3", "d1", "2025-01-01T11:00:00Z", "blank"), ("m4", "d1", "2025-01-01T12:00:00Z", "human"),
             ("m5", "d1", "2025-01-01T13:00:00Z", "wild_boar")]
    rows = ["mediaID,deploymentID,timestamp,filePath,filePublic,fileMediatype"]
    for i, (media_id, deployment, when, subject) in enumerate(media):
        render_photo(tmp_path / "media" / f"{media_id}.jpg", subject, 50 + i)
        rows.append(f"{media_id},{deployment},{when},media/{media_id}.jpg,true,image/jpeg")
    (tmp_path / "media.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "observations.csv").write_text(
        "observationID,deploymentID,mediaID,eventID,eventStart,eventEnd,observationLevel,observationType,"
        "scientificName,classificationMethod\n"
        "o1,d1,,e1,2025-01-01T09:59:59Z,2025-01-01T10:00:05Z,event,animal,Panthera tigris altaica,human\n"
        "o2,d1,m3,e2,2025-01-01T11:00:00Z,2025-01-01T11:00:00Z,media,blank,,human\n"
        "o3,d1,m4,e3,2025-01-01T12:00:00Z,2025-01-01T12:00:00Z,media,human,,machine\n"
        "o4,d1,m5,e4,2025-01-01T13:00:00Z,2025-01-01T13:00:00Z,media,animal,Sus scrofa,human\n"
        "o5,d1,m5,e4,2025-01-01T13:00:00Z,2025-01-01T13:00:00Z,media,animal,Capreolus pygargus,human\n")
    found = read_camtrap_dp(tmp_path, {"Capreolus pygargus": "sika_deer"})
    assert found.counts() == {"amur_tiger": 2, "blank": 1}
    assert {i.group for i in found.images if i.species == "amur_tiger"} == {"e1"}  # one sequence, one split side
    assert found.skipped["photo with several species"] == 1
    assert found.skipped["observation made by a machine (use --include-machine to train on it)"] == 1
    assert read_camtrap_dp(tmp_path, {"Capreolus pygargus": "sika_deer"},
                           include_machine=True).counts()["human"] == 1


# -- model swap on a running station -------------------------------------------------------------------------
def observations(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT species_key, classified_by FROM observations ORDER BY rowid").fetchall()


def renamed_copy(card_copy: Path) -> Path:
    """A good card for the same model under another version, whose last output is red_fox, not sika_deer."""
    edit(card_copy, r'^version = ".*"$', 'version = "1.0.1-swap"')
    edit(card_copy, r'"sika_deer"\]$', '"red_fox"]')
    return edit(card_copy, r'^code = 11\nkey = "sika_deer"\nlatin = ".*"\nen = ".*"\nru = ".*"\nzh = ".*"$',
                'code = 7\nkey = "red_fox"\nlatin = "Vulpes vulpes"\nen = "Red fox"\nru = "Лисица"\nzh = "赤狐"')


def test_bad_models_are_refused_and_the_old_one_keeps_classifying(tmp_path: Path, card_copy: Path) -> None:
    config = make_config(tmp_path / "data")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(card_copy.parent, corrupt)
    (corrupt / "trapd-pipeline-v1.tflite").write_bytes(b"\0" * 5000)
    wrong = tmp_path / "wrong"
    shutil.copytree(card_copy.parent, wrong)
    edit(wrong / card_copy.name, r"^count = 6$", "count = 7")
    with running_station(config) as app:
        old = app.parts.classifier
        with pytest.raises(ModelError, match="sha256 does not match"):
            app.reload_model(corrupt / card_copy.name)
        with pytest.raises(ModelError, match="outputs.labels has 6 entries but outputs.count is 7"):
            app.reload_model(wrong / card_copy.name)
        assert app.parts.classifier is old
        app.parts.trigger_source.fire("amur_leopard")
        assert app.wait_idle(30)
        assert app.reload_model(renamed_copy(card_copy)) == "trapd-pipeline-v1 1.0.1-swap"
        app.parts.trigger_source.fire("amur_tiger")
        assert app.wait_idle(30)
    assert observations(app.db_path) == [("amur_leopard", "trapd-pipeline-v1 1.0.0"),
                                         ("amur_tiger", "trapd-pipeline-v1 1.0.1-swap")]


def test_a_sequence_open_during_a_swap_is_classified_by_the_new_model_alone(tmp_path: Path,
                                                                             card_copy: Path) -> None:
    config = make_config(tmp_path / "data", capture={"burst_frames": 2, "quiet_period_s": 3.0})
    with running_station(config) as app:
        app.parts.trigger_source.fire("sika_deer")
        wait_until(lambda: app.stats.get("frames_classified") >= 2, timeout=20, interval=0.02,
                   message="the burst classified")
        assert app.stats.get("sequences_closed") == 0, "the sequence closed before the swap; test is too slow"
        app.reload_model(renamed_copy(card_copy))  # this model knows no sika_deer
        assert app.wait_idle(30)
        assert app.stats.get("classify_errors") == 0
    assert observations(app.db_path) == [("red_fox", "trapd-pipeline-v1 1.0.1-swap")]
    assert sha256_of(card_copy.parent / "trapd-pipeline-v1.tflite") == sha256_of(
        bundled_card().parent / "trapd-pipeline-v1.tflite")
