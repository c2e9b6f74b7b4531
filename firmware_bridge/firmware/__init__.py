"""Reference MicroPython firmware for a Raspberry Pi Pico. This marker only lets CPython import it
(simulator, tests); it is not copied to the board. See README.md beside it."""
