"""The lean MQTT 5 client that the fleet benchmark uses to hold tens of thousands of station connections,
against a real Mosquitto: persistent sessions, the Last Will, QoS 1 acknowledgements, commands queued
while a station was away."""

from __future__ import annotations

import asyncio

import pytest

from station.devtools.mosquitto import PrivateBroker, mosquitto_binary
from station.devtools.mqtt_load import LeanStation, MqttLoadError, Will

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed")


def station(name: str) -> LeanStation:
    return LeanStation(f"trapd-{name}", keepalive_s=30, session_expiry_s=3600,
                       will=Will(f"camtrap/v1/{name}/status", b'{"state":"offline"}'))


def test_session_will_and_queued_command():
    async def scenario(broker: PrivateBroker) -> None:
        st_a, watcher, central = station("st-a"), LeanStation("watcher", session_expiry_s=0), LeanStation("central")
        assert await st_a.connect(broker.host, broker.port) is False  # a new session
        await st_a.subscribe("camtrap/v1/st-a/cmd/#")
        await st_a.publish("camtrap/v1/st-a/telemetry", b"{}", content_type="application/json")
        await st_a.ping()
        await watcher.connect(broker.host, broker.port, source="127.0.0.2")
        await watcher.subscribe("camtrap/v1/+/status")
        st_a.drop()  # the link dies: the broker publishes the Will
        await asyncio.wait_for(_until(lambda: watcher.commands), 10)
        assert watcher.commands == [("camtrap/v1/st-a/status", b'{"state":"offline"}')]
        await central.connect(broker.host, broker.port)
        await central.publish("camtrap/v1/st-a/cmd/status", b'{"request_id":"r1"}')  # while st-a is away
        back = station("st-a")
        assert await back.connect(broker.host, broker.port) is True  # the broker kept its session...
        await asyncio.wait_for(_until(lambda: back.commands), 10)
        assert back.commands == [("camtrap/v1/st-a/cmd/status", b'{"request_id":"r1"}')]  # ...and its command
        for client in (back, watcher, central):
            await client.disconnect()

    with PrivateBroker() as broker:
        asyncio.run(scenario(broker))


def test_a_refused_connection_is_a_clear_error():
    async def scenario(broker: PrivateBroker) -> None:
        with pytest.raises(MqttLoadError, match=r"refused the connection \(reason 135\)"):  # not authorised
            await LeanStation("trapd-st-x").connect(broker.host, broker.port)

    with PrivateBroker(listener="listener {port} {host}\nallow_anonymous false\n") as broker:
        asyncio.run(scenario(broker))


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.02)


def test_a_publish_the_broker_refuses_is_an_error_not_a_delivery(tmp_path):
    """Mosquitto answers a publish its ACL denies with PUBACK 0x87: the load client must not count it sent."""
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite allowed/#\n")

    async def scenario(broker: PrivateBroker) -> None:
        client = LeanStation("trapd-st-acl", session_expiry_s=0)
        await client.connect(broker.host, broker.port)
        await client.publish("allowed/telemetry", b"{}")
        with pytest.raises(MqttLoadError, match=r"refused the publish \(reason 0x87\)"):
            await client.publish("denied/telemetry", b"{}")
        await client.publish("allowed/telemetry", b"{}")  # the connection is still good
        await client.disconnect()

    with PrivateBroker(extra_config=f"acl_file {acl}\n") as broker:
        asyncio.run(scenario(broker))
