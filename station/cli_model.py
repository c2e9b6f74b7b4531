"""`trapd model check|eval|bench` and `trapd replay`: the CLI side of model tooling and SD-card import.

Each command parses, calls the library (``station.vision.*``, ``station.replay_import``) and formats; exit
codes as in ``station.cli``: 0 ok, 1 a check or the work failed, 2 a usage or configuration mistake.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import click

from station.cli_errors import StationErrorsCommand, StationErrorsGroup

card_argument = click.argument("card", type=click.Path(exists=True, dir_okay=False, path_type=Path))
threads_option = click.option("--threads", type=click.IntRange(1, 8), default=2, show_default=True,
                              help="Interpreter threads (as [model] threads in station.toml).")


def _progress_bar(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress callback for the library and a function that closes the bar (stderr, so stdout stays clean)."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["done"] = 0
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            state["bar"].__enter__()
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
@card_argument
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("model-eval"),
              show_default=True, help="Folder for report.json, confusion.txt, confusion.png and tradeoff.png.")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML map of folder (or scientific) names to species keys.")
@threads_option
def evaluate_command(card: Path, folder: Path, out: Path, labels_file: Path | None, threads: int) -> None:
    """Evaluate CARD on FOLDER (one subfolder per species key, or a Camtrap DP package)."""
    from station.vision.classifier import Classifier
    from station.vision.dataset import load_label_map, read_labelled
    from station.vision.evaluate import confusion_table, evaluate
    from station.vision.plots import write_report

    classifier = Classifier.from_card_file(card, threads=threads)
    labelled = read_labelled(folder, load_label_map(labels_file))
    update, close = _progress_bar(f"classifying {len(labelled.images)} photos")
    try:
        evaluation = evaluate(classifier, labelled, progress=update)
    finally:
        close()
    files = write_report(evaluation, out, card_threshold=classifier.card.default_threshold,
                         extra={"card": str(card.resolve()), "folder": str(folder.resolve())})
    _print_evaluation(evaluation, confusion_table(*evaluation.confusion()), files)


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
@card_argument
@threads_option
@click.option("--seconds", type=click.FloatRange(0.2, 600), default=4.0, show_default=True,
              help="About how long to time (each side gets half).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Exit 1 when the classify step is over the target ratio.")
def bench(card: Path, threads: int, seconds: float, as_json: bool, strict: bool) -> None:
    """Time bare invoke() against the station's classify step on CARD's model (interleaved, medians)."""
    from station.vision.bench import run_bench

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
        click.echo(f"classify step  median {result.classify_step_ms:.3f} ms, "
                   f"p90 {result.classify_step_p90_ms:.3f} ms")
        click.echo(f"ratio          {result.ratio:.3f} (target <= {result.target_ratio:.2f}: {verdict}), "
                   f"{result.calls} calls each, interleaved")
        click.echo(f"memory         RSS {result.rss_with_model_mb:.1f} MB with the model loaded "
                   f"({result.rss_before_mb:.1f} MB before loading it; load {result.load_ms:.0f} ms)")
        click.echo(f"threads        interpreter {result.interpreter_threads}, process {result.process_threads}")
        click.echo(f"machine        {result.machine}")
    sys.exit(1 if strict and not result.within_target else 0)


@click.command(cls=StationErrorsCommand)
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default="station.toml",
              envvar="TRAPD_CONFIG", show_default=True, help="Station configuration file (env TRAPD_CONFIG).")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--gap", "gap_s", type=click.FloatRange(0, 86_400), default=60.0, show_default=True,
              help="Seconds between two photos of one camera folder that start a new sequence.")
@click.option("--max-frames", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Longest sequence in photos (a time-lapse camera would otherwise make one endless one).")
@click.option("--utc-offset", default="local", show_default=True,
              help="Time zone of the camera clocks, for EXIF times without one: e.g. +10:00 (Vladivostok), "
                   "+08:00 (China), or local (this machine's zone).")
def replay(config_path: Path, folder: Path, gap_s: float, max_frames: int, utc_offset: str) -> None:
    """Import FOLDER of camera-trap photos (an SD card): classify, store and queue them like live captures.

    Each folder of photos is one camera. Ctrl-C stops after the sequence in progress; run the same
    command again to import the rest (files already imported or skipped are not touched again).
    """
    from station.config import check_data_dir, load_config
    from station.replay_import import ImportSettings, ReplayImporter
    from station.replay_scan import parse_utc_offset

    try:
        zone = parse_utc_offset(utc_offset)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--utc-offset") from None
    config = load_config(config_path)
    check_data_dir(config)
    importer = ReplayImporter(config)
    stop = threading.Event()
    with _StopOnInterrupt(stop), _PhaseBars() as progress:
        report = importer.run(folder, ImportSettings(gap_s=gap_s, max_frames=max_frames, camera_zone=zone),
                              stop=stop, progress=progress)
    _print_import(report, config.data_dir)
    sys.exit(130 if report.interrupted else 0)


class _StopOnInterrupt:
    """While active, the first Ctrl-C (or SIGTERM) sets ``stop``; a second one interrupts at once."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt
        self._stop.set()
        click.echo("\nstopping after the sequence in progress (Ctrl-C again to stop at once)…", err=True)

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class _PhaseBars:
    """One progress bar per phase of the import, on stderr."""

    def __enter__(self) -> Callable[[str, int, int], None]:
        self._bars: dict[str, tuple[Callable[[int, int], None], Callable[[], None]]] = {}
        labels = {"dating": "reading photo dates", "importing": "classifying and storing"}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in self._bars:
                for _, close in self._bars.values():
                    close()
                self._bars[phase] = _progress_bar(labels.get(phase, phase))
            self._bars[phase][0](done, total)

        return progress

    def __exit__(self, *exc: object) -> None:
        for _, close in self._bars.values():
            close()


def _print_import(report: Any, data_dir: Path) -> None:
    state = "interrupted" if report.interrupted else "done"
    click.echo(f"{report.folder}: {state} in {report.seconds:.0f} s; {report.files_found} files found, "
               f"{report.done_before} handled by an earlier run")
    click.echo(f"imported {report.imported} photos in {report.sequences} sequences into {data_dir}"
               + (f" ({report.dated_by_mtime} dated by file time: no EXIF DateTimeOriginal)"
                  if report.dated_by_mtime else ""))
    if report.detections:
        click.echo("detections: " + ", ".join(f"{k} {v}" for k, v in report.detections.most_common()))
    if report.skipped:
        click.echo(f"skipped {report.skipped_total} files:")
        for reason, count in report.skipped.most_common():
            click.echo(f"  {count:>6}  {reason}")
    if report.interrupted:
        click.echo("run the same command again to import the rest", err=True)
