"""Camtrap DP 1.0.2 packages: the table schemas, a writer and an offline validator.

Shared by the station's own exporter (``station.camtrapdp.station_export``, SQLite) and the central server's
(``station.central.export``, PostgreSQL): both project their tables into rows keyed by Camtrap DP field
names and hand them to :func:`station.camtrapdp.writer.write_package`.
"""
