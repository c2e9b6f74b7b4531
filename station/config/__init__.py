"""station.toml: the pydantic models (``models``), the commented default (``file``), safe edits and the
last-known-good copy (``edit``), and which keys a remote command may change (``remote``)."""
