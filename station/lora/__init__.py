"""LoRaWAN uplink for stations out of Wi-Fi/cellular reach.

The modules, each usable on its own:

- ``codec``: the compact binary wire format (detections, status, downlink commands) and the packer;
  ``codec_json``: its JSON view, the Python mirror of deploy/lorawan/codec.js.
- ``regions``: regional data-rate and payload-limit tables (RU864, CN470) with their sources.
- ``airtime``: LoRa time on air (Semtech SX127x formula).
- ``budget``: ``DutyCycleBudget``, the regional duty-cycle / airtime accounting.
- ``port``: the ``LoRaModem`` port and its results; ``errors``: the exceptions.
- ``modem``: the RAK3172 (RUI3) AT-command driver behind the port; ``rui3`` is its pure parser.
- ``modem_sim``: a simulated RUI3 modem on a pty; ``bridge_modem``: the port over a plain callable.
- ``settings``: the ``[lora]`` section of station.toml.

Nothing here does any work at import time.
"""
