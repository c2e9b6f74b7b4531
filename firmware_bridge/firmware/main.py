"""Raspberry Pi Pico (RP2040) entry point: the pin map, sensor scaling and the main loop.

MicroPython runs this file at boot. Importing it does nothing: ``build_board(machine, time)`` is
also what the simulator calls, with a shim for ``machine``, so this wiring is exercised in tests.
Copy it to the board together with node.py, power.py and wire.py (see README.md).
"""

try:
    from firmware_bridge import wire  # CPython (simulator, tests)
    from firmware_bridge.firmware import node
except ImportError:
    import node  # type: ignore[no-redef]  # the board: all three files sit side by side
    import wire  # type: ignore[no-redef]

UART_ID = 0
UART_TX_PIN = 0  # GP0 -> Pi GPIO15 (RXD)
UART_RX_PIN = 1  # GP1 <- Pi GPIO14 (TXD)
BAUDRATE = 115200
PIR_PINS = (2, 3)  # GP2, GP3: PIR outputs, high on motion
ENCLOSURE_PIN = 4  # GP4: lid switch to GND, closed while the lid is shut (high = opened)
MOTION_PIN = 5  # GP5: vibration switch (SW-420 module output), pulses when the unit is moved
IR_LAMP_PIN = 16  # GP16: gate of the IR lamp's logic-level N-MOSFET, PWM dimmed
IR_LAMP_PWM_HZ = 1000
PI_POWER_PIN = 17  # GP17: enable of the Pi's 5 V load switch (high = Pi powered)
BATTERY_ADC_PIN = 26  # GP26/ADC0: battery through a 100k/22k divider
SOLAR_ADC_PIN = 27  # GP27/ADC1: solar panel through a 100k/15k divider
LIGHT_ADC_PIN = 28  # GP28/ADC2: TEMT6000 ambient-light sensor with its 10k load
TEMPERATURE_ADC = 4  # the RP2040's internal temperature sensor

ADC_VREF_MV = 3300
ADC_FULL_SCALE = 65535  # read_u16() range
BATTERY_DIVIDER = (122, 22)  # (R_top + R_bottom, R_bottom) in kOhm: 18.3 V full scale, 14.6 V -> 2.63 V
SOLAR_DIVIDER = (115, 15)  # 25.3 V full scale: a "12 V" panel's 22 V open-circuit voltage -> 2.87 V
LIGHT_UV_PER_LUX = 5000  # TEMT6000: ~50 uA at 100 lx into 10 kOhm; saturates near 650 lx
TEMP_UV_AT_27C = 706000  # RP2040 datasheet: 0.706 V at 27 degC, -1.721 mV per degC
TEMP_UV_PER_C = 1721
WAIT_SLICE_MS = 2  # PIR interrupts are turned into frames at least this often
PICO_WATCHDOG_MS = 8000  # the Pico's own watchdog: resets the Pico if this loop hangs

_RESET_CAUSES = (  # machine's name -> the protocol's code; ports define only some of them
    ("PWRON_RESET", wire.RESET_POWER_ON),
    ("WDT_RESET", wire.RESET_WATCHDOG),
    ("HARD_RESET", wire.RESET_HARD),
    ("SOFT_RESET", wire.RESET_SOFT),
    ("DEEPSLEEP_RESET", wire.RESET_DEEPSLEEP),
)


def divided_mv(raw, divider) -> int:
    """Millivolts before a resistor divider, from a read_u16() value; rounded."""
    total, bottom = divider
    scale = ADC_FULL_SCALE * bottom
    return min((raw * ADC_VREF_MV * total + scale // 2) // scale, 0xFFFF)


def microvolts(raw) -> int:
    return (raw * ADC_VREF_MV * 1000 + ADC_FULL_SCALE // 2) // ADC_FULL_SCALE


class AdcSensors:
    """Battery, solar, light and temperature from the RP2040's ADC."""

    def __init__(self, machine):
        self._battery = machine.ADC(BATTERY_ADC_PIN)
        self._solar = machine.ADC(SOLAR_ADC_PIN)
        self._light = machine.ADC(LIGHT_ADC_PIN)
        self._temperature = machine.ADC(TEMPERATURE_ADC)

    def battery_mv(self) -> int:
        return divided_mv(self._battery.read_u16(), BATTERY_DIVIDER)

    def solar_mv(self) -> int:
        return divided_mv(self._solar.read_u16(), SOLAR_DIVIDER)

    def lux(self) -> int:
        return microvolts(self._light.read_u16()) // LIGHT_UV_PER_LUX

    def temperature_cc(self) -> int:
        delta_uv = microvolts(self._temperature.read_u16()) - TEMP_UV_AT_27C
        return 2700 - (delta_uv * 100) // TEMP_UV_PER_C


def reset_cause(machine) -> int:
    cause = machine.reset_cause()
    for name, code in _RESET_CAUSES:
        if getattr(machine, name, None) == cause:
            return code
    return wire.RESET_UNKNOWN


def build_board(machine, clock, boot_id, radio=None):
    """Claim the pins of the reference wiring (README.md) and return the node's Board."""
    Pin = machine.Pin
    uart = machine.UART(UART_ID, baudrate=BAUDRATE, tx=Pin(UART_TX_PIN), rx=Pin(UART_RX_PIN),
                        rxbuf=1024, timeout=0)
    lamp = machine.PWM(Pin(IR_LAMP_PIN))
    lamp.freq(IR_LAMP_PWM_HZ)
    lamp.duty_u16(0)
    return node.Board(
        uart=uart,
        clock=clock,
        sensors=AdcSensors(machine),
        pirs=[Pin(number, Pin.IN, Pin.PULL_DOWN) for number in PIR_PINS],
        lamp=lamp,
        pi_power=Pin(PI_POWER_PIN, Pin.OUT, value=1),
        enclosure=Pin(ENCLOSURE_PIN, Pin.IN, Pin.PULL_UP),
        motion=Pin(MOTION_PIN, Pin.IN, Pin.PULL_DOWN),
        radio=radio,
        board_id=machine.unique_id(),
        reset_cause=reset_cause(machine),
        boot_id=boot_id,
    )


def main():
    import os
    import select
    import sys
    import time

    import machine

    board = build_board(machine, time, boot_id=int.from_bytes(os.urandom(4), "little"))
    pico_watchdog = machine.WDT(timeout=PICO_WATCHDOG_MS)
    poller = select.poll()
    poller.register(board.uart, select.POLLIN)

    def wait(ms):
        pico_watchdog.feed()
        poller.poll(min(ms, WAIT_SLICE_MS))  # soft IRQs (PIR edges) run while this waits

    try:
        node.Node(board).run(wait)
    except Exception as exc:  # a bug must not leave the Pi without its watchdog: start afresh
        sys.print_exception(exc)  # type: ignore[attr-defined]  # MicroPython's
        time.sleep_ms(1000)  # type: ignore[attr-defined]
        machine.reset()


if __name__ == "__main__":
    main()
