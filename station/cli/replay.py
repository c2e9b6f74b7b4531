"""`trapd replay`: import a camera trap's SD card (the CLI side of ``station.replay.importer``).

Exit codes as in ``station.cli.main``: 0 done, 130 stopped by Ctrl-C (run again to resume), 2 a usage or
configuration mistake (a non-field model without --allow-non-field among them).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from station.cli.errors import StationErrorsCommand
from station.cli.model import _progress_bar


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
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write a per-photo CSV here: file, time, sequence, observation type, species, confidence, "
                   "count, boxes (and the models).")
@click.option("--allow-non-field", is_flag=True,
              help="Import with a model whose card says field_model = false (a toy or general-purpose model); "
                   "refused otherwise, because an SD card holds real photos.")
def replay(config_path: Path, folder: Path, gap_s: float, max_frames: int, utc_offset: str,
           report_path: Path | None, allow_non_field: bool) -> None:
    """Import FOLDER of camera-trap photos (an SD card): detect, classify, store and queue them like live
    captures, with the models of station.toml ([model] detector, people, classifier).

    Each folder of photos is one camera; each photo keeps its path on the card (Camtrap DP fileName).
    Ctrl-C stops after the sequence in progress; run the same command again to import the rest (files
    already imported or skipped are not touched again).
    """
    from station.config.load import check_data_dir, load_config
    from station.replay.importer import ImportSettings, ReplayImporter
    from station.replay.scan import parse_utc_offset

    try:
        zone = parse_utc_offset(utc_offset)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--utc-offset") from None
    from station.errors import ConfigError

    config = load_config(config_path)
    check_data_dir(config)
    try:
        importer = ReplayImporter(config, allow_non_field=allow_non_field)
    except ConfigError as exc:
        if "allow_non_field" not in str(exc):
            raise
        raise ConfigError(f"{exc} (for this import only: trapd replay --allow-non-field)") from None
    click.echo(f"models: {importer.models}")
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        on_photo = None
        if report_path is not None:
            from station.replay.report import PhotoReport

            on_photo = PhotoReport(stack.enter_context(report_path.open("w", encoding="utf-8", newline="")),
                                   importer.models)
        stack.enter_context(_StopOnInterrupt(stop))
        progress = stack.enter_context(_PhaseBars())
        report = importer.run(folder, ImportSettings(gap_s=gap_s, max_frames=max_frames, camera_zone=zone),
                              stop=stop, progress=progress, on_photo=on_photo)
    _print_import(report, config.data_dir)
    if on_photo is not None:
        click.echo(f"per-photo report: {report_path} ({on_photo.rows} photos)")
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
        labels = {"dating": "reading photo dates", "importing": "analysing and storing"}

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
    click.echo(f"imported {report.imported} photos in {report.sequences} sequences into {data_dir}, "
               f"decided by {report.models}")
    if report.dated_by_mtime:
        click.echo(f"{report.dated_by_mtime} photos dated by their file's modification time (no EXIF "
                   "DateTimeOriginal): check those times; the Camtrap DP export flags them (timestampIssues)")
    if report.detections:
        click.echo("detections: " + ", ".join(f"{k} {v}" for k, v in report.detections.most_common()))
    if report.skipped:
        click.echo(f"skipped {report.skipped_total} files:")
        for reason, count in report.skipped.most_common():
            click.echo(f"  {count:>6}  {reason}")
    if report.interrupted:
        click.echo("run the same command again to import the rest", err=True)
