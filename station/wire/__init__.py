"""What the station and the central side share on the wire: message models and schema, the MQTT encoding and
its dictionary, the LoRa payload codec, and message ids and timestamps. Imports nothing of the station's
running parts, so both sides (and the pipeline and the uplink) can depend on it."""
