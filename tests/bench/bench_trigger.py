"""Trigger to first capture through the whole station: PIR frame on the serial line -> camera.capture().

The simulated board takes ``perf_counter_ns()`` just before it writes the PIR frame to the pty; a thin
wrapper around the station's camera takes it when the capture worker calls ``capture`` for the burst's
first frame. In between: pty, bridge reader thread, parser, ``StationApp.on_trigger``, the trigger queue and
the capture worker's wake-up — the software latency a PIR trigger pays before the shutter.

    python -m tests.bench.bench_trigger [--triggers N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

from station.hardware import factory
from tests.conftest import make_config, running_station


class TimingCamera:
    def __init__(self, camera) -> None:
        self._camera = camera
        self.first_capture_ns = 0
        self.called = threading.Event()

    def start(self) -> None:
        self._camera.start()

    def stop(self) -> None:
        self._camera.stop()

    def capture(self, trigger, frame_index: int):
        if frame_index == 0:
            self.first_capture_ns = time.perf_counter_ns()
            self.called.set()
        return self._camera.capture(trigger, frame_index)


def run(triggers: int = 1000) -> dict:
    build = factory.build_camera
    cameras: list[TimingCamera] = []
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(
            factory, "build_camera",
            lambda config, **kwargs: cameras.append(TimingCamera(build(config, **kwargs))) or cameras[-1]):
        config = make_config(Path(tmp) / "data", hardware={"trigger": "bridge", "illuminator": "simulated"},
                             bridge={"port": "simulated", "simulated_telemetry_s": 3600},
                             camera={"width": 64, "height": 64},
                             capture={"burst_frames": 1, "quiet_period_s": 0.0})
        latencies = []
        with running_station(config) as app:
            simulator, camera = app.parts.companion.simulator, cameras[0]
            for index in range(triggers + 20):
                written_before = len(simulator.pir_write_times_ns())
                camera.called.clear()
                simulator.fire_pir(0)
                if not camera.called.wait(10):
                    raise TimeoutError(f"trigger {index} never reached the camera")
                _, written_ns = simulator.pir_write_times_ns(written_before)[0]
                if index >= 20:
                    latencies.append((camera.first_capture_ns - written_ns) / 1e6)
                app.wait_idle(10)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"triggers": triggers, "p50_ms": round(cuts[49], 3), "p95_ms": round(cuts[94], 3),
            "p99_ms": round(cuts[98], 3), "max_ms": round(max(latencies), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000)
    result = run(parser.parse_args().triggers)
    print(f"PIR frame -> capture call over {result['triggers']} triggers: p50 {result['p50_ms']} ms, "
          f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms")


if __name__ == "__main__":
    main()
