"""How a ranger's phone reaches a station in the forest: its Wi-Fi hotspot, its name, its certificate, its QR code."""
