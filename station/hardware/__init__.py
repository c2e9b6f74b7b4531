"""The station's hardware behind small ports (``ports``): the Pi camera, GPIO, the companion board, the
hotspot switch, and the simulated and replay stand-ins. ``factory`` chooses each one from the config, never as a
silent fallback."""
