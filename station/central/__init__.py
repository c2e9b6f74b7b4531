"""The central server: ingest every station's stream into PostgreSQL, export Camtrap DP, report across the
border, raise human-wildlife conflict alerts, and a fleet simulator to measure it. See docs/central.md.

Modules: ``config`` (central.toml), ``db``/``migrations`` (PostgreSQL schema), ``decode`` (pure message
parsing), ``chirpstack`` (LoRaWAN network-server events), ``store`` (idempotent writes and the LoRa join),
``ingest`` (MQTT shared-subscription workers), ``alerts``, ``registry`` (parks and stations),
``individuals``, ``export`` (Camtrap DP), ``report``/``report_html``, ``scenario``/``fleet`` (simulator).
"""
