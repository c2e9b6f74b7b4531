"""LoRaWAN uplink for stations out of Wi-Fi/cellular reach.

The modules, each usable on its own:

- ``regions``: regional data-rate and payload-limit tables (RU864, CN470) with their sources.
- ``airtime``: LoRa time on air (Semtech SX127x formula).
- ``budget``: ``DutyCycleBudget``, the regional duty-cycle / airtime accounting.
- ``ports``: the ``LoRaModem`` port and its results; ``errors``: the exceptions.
- ``modem``: the RAK3172 (RUI3) AT-command driver behind the port; ``rui3`` is its pure parser.
- ``modem_sim``: a simulated RUI3 modem on a pty; ``bridge_modem``: the port over a plain callable.
- ``radio``: the modem ``[lora] modem`` names (``build_lora_modem``), and ``SimulatedRadio``.
- ``link``: ``LoRaLink``, the station's policy (silent while MQTT is up, what goes over the air and when).
- ``settings``: the ``[lora]`` section of station.toml.

The wire format (detections, status, downlink commands) is ``station.wire.lora_codec`` with its JSON view
``station.wire.lora_json``, shared with the central side; ChirpStack's uplink events are read by
``station.central.chirpstack`` (the central server's integration, not the station's).

Nothing here does any work at import time.
"""
