"""`trapd provision`: give an installed station its identity, broker, keys and time zone, and a valid config."""
