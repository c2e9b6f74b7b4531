"""trapd: edge software for field camera-trap stations."""

__version__ = "0.1.0"
