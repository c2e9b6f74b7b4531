"""Tools for developers and tests, never part of a running station: the simulated demo (`trapd demo`), a private
Mosquitto, a message collector and the fleet load client."""
