"""`trapd run`: the running station (``app``), its remote commands, telemetry, systemd integration, run state,
self-test and the guard on the companion board's clock."""
