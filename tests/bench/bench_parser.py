"""The companion board's frame parser on garbage beside clean frames (what the fuzz test once also timed).

The same byte volume is fed as clean frames and as mangled ones (random bytes, truncated, bit-flipped,
delimiters lost: the fuzz test's mix), side by side in one process; the ratio says what line noise costs.
A parser that rescanned its buffer per byte would show it here by orders of magnitude.
"""

from __future__ import annotations

import random
import time

from firmware_bridge.parser import FrameParser
from tests.firmware_bridge.test_parser import _mangle, _valid_frames

FRAMES = 20_000


def _feed_seconds(chunks: list[bytes]) -> float:
    parser = FrameParser()
    started = time.perf_counter()
    for chunk in chunks:
        parser.feed(chunk)
    return time.perf_counter() - started


def run(frames: int = FRAMES) -> dict[str, object]:
    rng = random.Random(20_240_611)
    clean = _valid_frames(rng, frames)
    mangled = [_mangle(rng, frame) for frame in clean]
    clean_s, mangled_s = min(_feed_seconds(clean) for _ in range(3)), min(_feed_seconds(mangled) for _ in range(3))
    clean_bytes, mangled_bytes = sum(map(len, clean)), sum(map(len, mangled))
    clean_rate, mangled_rate = clean_bytes / clean_s, mangled_bytes / mangled_s
    return {"frames": frames, "clean_MB_per_s": round(clean_rate / 1e6, 2),
            "mangled_MB_per_s": round(mangled_rate / 1e6, 2),
            "clean_over_mangled_rate": round(clean_rate / mangled_rate, 2)}


if __name__ == "__main__":
    print(run())
