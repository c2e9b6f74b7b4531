"""Stand-ins for libraries that exist only on a Raspberry Pi (picamera2), driven by tests like the world."""
