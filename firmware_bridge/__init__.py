"""Host side of the companion-microcontroller link: protocol, parser, Bridge, simulator, firmware.

Import what you need from the submodules (``firmware_bridge.bridge.Bridge``,
``firmware_bridge.simulator.Simulator``, ``firmware_bridge.protocol``); importing this package
loads nothing else.
"""
