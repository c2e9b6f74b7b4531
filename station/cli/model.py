"""`trapd model check|eval|crops|bench`: the CLI side of model tooling (`trapd replay` is in ``station.cli.replay``).

Each command parses, calls the library (``station.vision.*``) and formats; exit codes as in
``station.cli.main``: 0 ok, 1 a check or the work failed, 2 a usage or configuration mistake.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from station.cli.errors import StationErrorsGroup

card_argument = click.argument("card", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _bundled_or_file(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    """A card path, or ``bundled``: the detector installed with trapd (as ``[model] detector = "bundled"``)."""
    if value == "bundled":
        from station.vision.bundled import bundled_detector_card

        return bundled_detector_card()
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"{value}: no such card file (or write bundled for the bundled detector)")
    return path


def detector_or_card_argument(name: str) -> Callable:
    return click.argument(name, callback=_bundled_or_file)
threads_option = click.option("--threads", type=click.IntRange(1, 8), default=2, show_default=True,
                              help="Interpreter threads (as [model] threads in station.toml).")


def _progress_bar(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress callback for the library and a function that closes the bar (stderr, so stdout stays clean)."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["done"] = 0
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            bar.__enter__()
            state["bar"] = bar
        state["bar"].update(done - state["done"])
        state["done"] = done

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
            state["bar"] = None

    return update, close


@click.group(cls=StationErrorsGroup)
def model() -> None:
    """Check, evaluate and benchmark a model card and the .tflite beside it."""


@model.command()
@card_argument
def check(card: Path) -> None:
    """Check CARD against its model: file, sha256, tensors, labels, species codes; PASS/FAIL per line."""
    from station.vision.check import check_card

    findings = check_card(card)
    for finding in findings:
        mark = click.style("PASS", fg="green") if finding.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark}  {finding.name:<18} {finding.detail}")
    failed = sum(not f.ok for f in findings)
    click.echo(f"{card}: " + (f"{failed} check(s) failed; the station will refuse this model" if failed
                              else "the station can load this model"))
    sys.exit(1 if failed else 0)


@model.command("eval")
@detector_or_card_argument("card")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("model-eval"),
              show_default=True, help="Folder for the report (report.json, and pictures: boxes.png for a "
                                      "detector; confusion.png and tradeoff.png for a classifier).")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML map of folder names, labels or scientific names to species keys.")
@click.option("--classifier", "classifier_card", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With a detector CARD: the classifier card that names the species in its boxes' crops.")
@click.option("--people", "people_card", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With a detector CARD: the person/vehicle detector card whose boxes relabel the detector's.")
@click.option("--sample", type=click.IntRange(1, 200), default=16, show_default=True,
              help="Photos drawn with their boxes in boxes.png (detector only).")
@threads_option
def evaluate_command(card: Path, source: Path, out: Path, labels_file: Path | None, classifier_card: Path | None,
                     people_card: Path | None, sample: int, threads: int) -> None:
    """Evaluate CARD (a card file, or bundled: the bundled detector) on SOURCE: a labels CSV
    (file,label,scientific_name,count,...), a folder with one subfolder per species key, or a Camtrap DP
    package. A detector CARD is judged as the station's whole per-frame step (with --people and --classifier if
    given); a classifier CARD on whole frames."""
    from station.vision.dataset import load_label_map
    from station.vision.detector_card import card_kind

    label_map = load_label_map(labels_file)
    if card_kind(card) == "detector":
        _evaluate_pipeline(card, source, out, label_map, classifier_card, people_card, sample, threads)
        return
    if classifier_card or people_card:
        raise click.UsageError("--classifier and --people go with a detector card; CARD is a classifier")
    _evaluate_classifier(card, source, out, label_map, threads)


def _labelled_photos(source: Path, label_map: dict[str, str]) -> Any:
    from station.vision.dataset import read_labelled
    from station.vision.labels_csv import from_labelled_set, is_labels_csv, read_labels_csv

    if is_labels_csv(source):
        return read_labels_csv(source, label_map)
    if source.is_file():
        raise click.UsageError(f"{source}: give a labels CSV (.csv) or a folder")
    return from_labelled_set(read_labelled(source, label_map))


def _evaluate_classifier(card: Path, source: Path, out: Path, label_map: dict[str, str], threads: int) -> None:
    from station.vision.classifier import Classifier
    from station.vision.dataset import LabelledImage, LabelledSet
    from station.vision.evaluate import confusion_table, evaluate
    from station.vision.plots import write_report

    classifier = Classifier.from_card_file(card, threads=threads)
    photos = _labelled_photos(source, label_map)
    labelled = LabelledSet(source=photos.source, skipped=photos.skipped, images=[
        LabelledImage(p.path, p.species or "unknown_animal", p.file) for p in photos.photos])
    update, close = _progress_bar(f"classifying {len(labelled.images)} photos")
    try:
        evaluation = evaluate(classifier, labelled, progress=update)
    finally:
        close()
    files = write_report(evaluation, out, card_threshold=classifier.card.default_threshold,
                         extra={"card": str(card.resolve()), "source": str(source.resolve())})
    _print_evaluation(evaluation, confusion_table(*evaluation.confusion()), files)


def _evaluate_pipeline(card: Path, source: Path, out: Path, label_map: dict[str, str], classifier_card: Path | None,
                       people_card: Path | None, sample: int, threads: int) -> None:
    from station.vision.assemble import build_pipeline, pipeline_models
    from station.vision.evaluate_pipeline import evaluate_pipeline
    from station.vision.plots_boxes import write_pipeline_report

    pipeline = build_pipeline(card, classifier_card=classifier_card, people_card=people_card, threads=threads)
    photos = _labelled_photos(source, label_map)
    models = pipeline_models(pipeline)
    update, close = _progress_bar(f"analysing {len(photos.photos)} photos")
    try:
        evaluation = evaluate_pipeline(lambda rgb: pipeline.analyse_image(rgb).boxes, photos, models=models,
                                       progress=update)
    finally:
        close()
    files = write_pipeline_report(evaluation, out, sample=sample, extra={
        "cards": [str(p.resolve()) for p in (card, people_card, classifier_card) if p is not None],
        "source": str(source.resolve())})
    _print_pipeline(evaluation, files)


def _print_pipeline(evaluation: Any, files: dict[str, Path]) -> None:
    summary = evaluation.summary()
    click.echo(f"models: {' + '.join(evaluation.models)}; {summary['photos']} photos in {evaluation.seconds:.1f} s")
    rows = [("empty vs not empty right", "empty_vs_not_empty_accuracy"),
            ("blank photos called blank", "blank_photos_called_blank"),
            ("photos with something boxed", "not_blank_photos_boxed"),
            ("human recall (people visible)", "human_recall"),
            ("human recall (human rows)", "human_recall_human_rows"),
            ("photos with people called blank", "people_called_blank"),
            ("false human (no people)", "false_human_rate"),
            ("vehicle recall", "vehicle_recall"), ("false vehicle", "false_vehicle_rate"),
            ("species right (in catalogue)", "species_accuracy")]
    for text, key in rows:
        share = summary[key]
        click.echo(f"{text:<34}{share['hits']:>4} / {share['of']:<4} {_pct(share['rate'])}")
    count = summary["count"]
    if count["photos"]:
        click.echo(f"{'count: mean absolute error':<34}{count['mean_absolute_error']:>6} over {count['photos']} "
                   f"photos; exact {count['exact']['hits']} / {count['photos']}")
    click.echo(f"animals whose species the catalogue does not know: {summary['animals_not_in_catalogue']}")
    for reason, n in sorted(evaluation.skipped.items()):
        click.echo(f"skipped {n}: {reason}", err=True)
    click.echo("wrote " + ", ".join(str(path) for path in files.values()))


@model.command()
@detector_or_card_argument("detector_card")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the crops into, one subfolder per species key (models/train.py takes it).")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML map of labels or scientific names to species keys.")
@threads_option
def crops(detector_card: Path, source: Path, out: Path, labels_file: Path | None, threads: int) -> None:
    """Cut DETECTOR_CARD's boxes (a card file, or bundled) from labelled photos (labels CSV, class folders or
    Camtrap DP) into OUT, filed by label, to train a park's own classifier on crops with models/train.py."""
    from station.vision.assemble import build_pipeline
    from station.vision.crops import write_crops
    from station.vision.dataset import load_label_map

    pipeline = build_pipeline(detector_card, threads=threads)
    report = write_crops(pipeline, _labelled_photos(source, load_label_map(labels_file)), out)
    click.echo(f"{report.photos} photos, {sum(report.crops.values())} crops into {out} "
               f"(detector {pipeline.detector.card.label}, margin {pipeline.settings.crop_margin})")
    for key, count in sorted(report.crops.items()):
        click.echo(f"  {key:<22}{count:>6}")
    for reason, count in sorted(report.skipped.items()):
        click.echo(f"skipped {count}: {reason}", err=True)
    if not report.crops:
        raise click.ClickException("no crops written: the detector found no box on any usable photo")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _print_evaluation(evaluation: Any, table: list[str], files: dict[str, Path]) -> None:
    click.echo(f"{evaluation.model}: {len(evaluation.truth)} photos in {evaluation.seconds:.1f} s; accuracy at "
               f"the card's thresholds {100 * evaluation.accuracy():.1f} % (top-1 without thresholds "
               f"{100 * evaluation.top1_accuracy():.1f} %)")
    click.echo(f"{'class':<22}{'photos':>7}{'called':>8}{'precision':>11}{'recall':>9}{'threshold':>11}")
    for key, row in evaluation.per_class().items():
        threshold = "-" if row["threshold"] is None else f"{row['threshold']:.2f}"
        click.echo(f"{key:<22}{row['support']:>7}{row['predicted']:>8}{_pct(row['precision']):>11}"
                   f"{_pct(row['recall']):>9}{threshold:>11}")
    click.echo("")
    for line in table:
        click.echo(line)
    point = evaluation.at_card_thresholds()
    if point.empty_kept is not None or point.animals_missed is not None:
        click.echo(f"empty vs animal at the card's thresholds: empty photos kept {_pct(point.empty_kept)}, "
                   f"animals missed {_pct(point.animals_missed)}")
    for reason, count in sorted(evaluation.skipped.items()):
        click.echo(f"skipped {count}: {reason}", err=True)
    click.echo("wrote " + ", ".join(str(path) for path in files.values()))


@model.command()
@detector_or_card_argument("card")
@threads_option
@click.option("--seconds", type=click.FloatRange(0.2, 600), default=4.0, show_default=True,
              help="About how long to time (each side gets half).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Exit 1 when the classify step is over the target ratio.")
def bench(card: Path, threads: int, seconds: float, as_json: bool, strict: bool) -> None:
    """Time bare invoke() against the station's classify step on CARD's model (interleaved, medians); for
    a detector card (or bundled), against the per-frame detect step (boxes, thresholds, masks)."""
    from station.vision.bench import run_bench
    from station.vision.detector_card import card_kind

    step_name = "detect step   " if card_kind(card) == "detector" else "classify step "
    update, close = _progress_bar("timing")
    try:
        result = run_bench(card, threads=threads, seconds=seconds, progress=None if as_json else update)
    finally:
        close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        verdict = "within target" if result.within_target else "OVER target"
        click.echo(f"model          {result.model} ({result.runtime})")
        click.echo(f"bare invoke    median {result.bare_invoke_ms:.3f} ms, p90 {result.bare_invoke_p90_ms:.3f} ms")
        click.echo(f"{step_name} median {result.classify_step_ms:.3f} ms, "
                   f"p90 {result.classify_step_p90_ms:.3f} ms")
        click.echo(f"ratio          {result.ratio:.3f} (target <= {result.target_ratio:.2f}: {verdict}), "
                   f"{result.calls} calls each, interleaved")
        click.echo(f"memory         RSS {result.rss_with_model_mb:.1f} MB with the model loaded "
                   f"({result.rss_before_mb:.1f} MB before loading it; load {result.load_ms:.0f} ms)")
        click.echo(f"threads        interpreter {result.interpreter_threads}, process {result.process_threads}")
        click.echo(f"machine        {result.machine}")
    sys.exit(1 if strict and not result.within_target else 0)
