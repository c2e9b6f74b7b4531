"""Outbox drain rate to a local broker beside a raw paho publish loop, in the same run.

Both publish N QoS 1 messages of the same size to a private Mosquitto and wait for every PUBACK. The
station's figure includes reading rows in priority order and marking them sent durably (synchronous=FULL).
Run: ``python -m tests.bench.bench_outbox [--messages 5000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from station.config.models import MqttSection
from station.devtools.mosquitto import PrivateBroker
from station.stats import Stats
from station.store.outbox import OutboxReader
from station.uplink.mqtt import MqttUplink
from tests.test_outage import queue_messages


def raw_paho(broker: PrivateBroker, count: int, payload: bytes) -> float:
    done = threading.Semaphore(0)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(64)
    client.on_publish = lambda c, u, mid, rc, p: done.release()
    client.connect(broker.host, broker.port)
    client.loop_start()
    start = time.perf_counter()
    for _ in range(count):
        client.publish("bench/raw", payload, qos=1)
    for _ in range(count):
        done.acquire()
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def station_drain(broker: PrivateBroker, count: int, folder: Path) -> float:
    db = folder / "station.db"
    queue_messages(db, count)
    uplink = MqttUplink(settings=MqttSection(port=broker.port, inflight=64), station_id="bench",
                        db_path=db, stats=Stats())
    reader = OutboxReader(db)
    start = time.perf_counter()
    uplink.start()
    while reader.depth():
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    uplink.stop()
    reader.close()
    return count / elapsed


def run(messages: int = 5000) -> dict:
    with tempfile.TemporaryDirectory() as tmp, PrivateBroker(workdir=Path(tmp) / "broker") as broker:
        raw = raw_paho(broker, messages, b'{"id": "0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c55"}')
        drained = station_drain(broker, messages, Path(tmp))
    return {"messages": messages, "raw_paho_msgs_per_s": round(raw), "outbox_msgs_per_s": round(drained),
            "ratio": round(drained / raw, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    result = run(parser.parse_args().messages)
    print(f"outbox drain {result['outbox_msgs_per_s']} msg/s   raw paho {result['raw_paho_msgs_per_s']} msg/s   "
          f"ratio {result['ratio']}   ({result['messages']} QoS 1 messages, local broker)")


if __name__ == "__main__":
    main()
