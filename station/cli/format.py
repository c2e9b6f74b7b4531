"""Text layout for the CLI (part of the CLI layer: it formats lines and hands them to ``echo``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from station.devtools.demo import DemoResult, summarise_payload

Echo = Callable[[str], None]


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def print_demo(result: DemoResult, *, echo: Echo) -> None:
    echo("")
    echo(f"{'sequence':<15}{'frames':>7}  {'classified as':<38}{'outbox messages'}")
    for record in result.sequences:
        seen = ", ".join(f"{o['species_key']} {o['classification_probability']:.2f}"
                         for o in record.observations if o.get("species_key")) or "empty"
        kinds = ", ".join(f"{m.kind} ({len(m.payload)} B)" for m in record.messages)
        echo(f"{record.closed.sequence_id[:13]:<15}{len(record.closed.frames):>7}  {seen:<38}{kinds}")
    stats = result.stats
    echo("")
    models = sorted({record.model for record in result.sequences})
    echo(f"decided by: {'; '.join(models) or '(no sequence)'}")
    echo(f"captured {stats.get('frames', 0)} frames in {stats.get('bursts', 0)} bursts, "
         f"classified {stats.get('frames_classified', 0)}, stored under {result.workdir}")
    if result.broker:
        echo(f"forwarded to {result.broker}: {stats.get('mqtt_delivered', 0)} acknowledged by the broker; "
             f"a subscriber received {len(result.received)} messages:")
        for topic, payload in result.received:
            echo(f"  {topic}  {summarise_payload(payload)}")
    else:
        echo("no broker reachable (install mosquitto or pass --broker HOST:PORT)")
    echo(f"outbox: {result.outbox_pending} message(s) still queued"
         + (" (they go out when a link is up)" if result.outbox_pending else ""))


def print_status(summary: dict, *, echo: Echo) -> None:
    daemon = summary.get("daemon") or {}
    if daemon.get("running"):
        echo(f"daemon: running (pid {daemon['pid']}, up {_duration(time.time() - daemon['started_unix'])})")
    else:
        echo("daemon: not running")
    if summary.get("config_fallback"):
        echo(f"CONFIG FALLBACK: {summary['config_fallback']}")
    echo(f"sequences: {summary['sequences']}   media: {summary['media']} "
         f"({human_bytes(summary['media_bytes'])})   database: {human_bytes(summary['database_bytes'])}")
    echo(f"disk: {human_bytes(summary['disk_free_bytes'])} free of {human_bytes(summary['disk_total_bytes'])}")
    pending = summary["outbox_pending"]
    echo(f"outbox: {sum(pending.values())} pending ({json.dumps(pending)}), {summary['outbox_sent']} sent")
    if summary.get("clock_rtc_rejected"):
        echo(f"clock: {summary['clock_rtc_rejected']} board RTC readings refused; "
             f"last: {summary['clock_last_rejected']}")
    lora = summary.get("lora")
    if lora:
        echo(f"LoRa {lora['region']}: {lora['remaining_s']:.1f} s of {lora['allowance_s']:.1f} s airtime left this "
             f"hour; {lora['summarised_sequences']} sequences summarised in {lora['detection_frames']} frames")
    echo("detections per species: " + (", ".join(f"{k} {v}" for k, v in summary["detections_per_species"].items())
                                       or "none yet"))
    echo("decided by: " + ("; ".join(f"{model} ({n} sequences)" for model, n in summary.get("models", {}).items())
                           or "no sequence yet"))
    echo("last sequences:")
    for row in summary["last_sequences"]:
        echo(f"  {row['start']}  {row['frames']:>3} frames  {row['state']:<6} {row['seen'] or '(classifying)'}")


def print_detections(rows: list[dict], *, echo: Echo) -> None:
    if not rows:
        echo("no detections")
        return
    echo(f"{'start':<26}{'species':<22}{'confidence':>10}{'count':>6}  {'sequence':<38}model")
    for row in rows:
        count = "-" if row.get("count") is None else str(row["count"])
        echo(f"{row['start']:<26}{row['species'] or '-':<22}{row['confidence'] or 0:>10.2f}{count:>6}  "
             f"{row['sequence_id']:<38}{row.get('classified_by') or '-'}")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {secs}s"
