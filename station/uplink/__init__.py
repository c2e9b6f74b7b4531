"""MQTT uplink: the outbox drained over a persistent MQTT 5 session, batched after an outage (``framing``) and
encoded for the wire (``station.wire.encoding``)."""
