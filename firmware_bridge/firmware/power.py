"""The Pi's power switch and the two rules that drive it: the watchdog and sleep_until.

Pure state: the node passes the uptime (and the clock's unix time) in, and reacts to the switch
going off (lamp off, host gone) or on (ask for a handshake). MicroPython subset, like node.py.
"""

try:
    from firmware_bridge import wire  # CPython: the package the host imports
except ImportError:
    import wire  # type: ignore[no-redef]  # the board: wire.py is copied next to main.py

MIN_WATCHDOG_S = 10
POWER_CYCLE_OFF_MS = 5000  # how long the Pi stays unpowered when the watchdog bites

PI_ON = 0
PI_SHUTTING_DOWN = 1  # sleep requested, grace period running
PI_SLEEPING = 2
PI_CYCLING = 3  # the watchdog cut power; it comes back after POWER_CYCLE_OFF_MS

SWITCHED_OFF = -1
UNCHANGED = 0
SWITCHED_ON = 1


class PiSupply:
    """``pin`` (or None: no switch, so no watchdog and no sleep) enables the Pi's 5 V supply."""

    def __init__(self, pin, boot_watchdog_ms, sleep_grace_ms):
        self.pin = pin
        self.boot_watchdog_ms = boot_watchdog_ms if pin else 0
        self.sleep_grace_ms = sleep_grace_ms
        self.state = PI_ON
        self.watchdog_ms = 0
        self._watchdog_deadline_ms = 0
        self._deadline_ms = 0  # power off (shutting down) or on (cycling) at this uptime
        self._wake_unix = 0
        self.power_cycles = 0

    def awake(self) -> bool:
        """The Pi has power (it may be halting, during a sleep's grace period)."""
        return self.state == PI_ON or self.state == PI_SHUTTING_DOWN

    def switch_on(self, now):
        """Power the Pi; a freshly powered Pi gets the boot watchdog's allowance."""
        if self.pin:
            self.pin.value(1)
        self.state = PI_ON
        self.watchdog_ms = self.boot_watchdog_ms
        self._watchdog_deadline_ms = now + self.watchdog_ms

    def _switch_off(self, next_state, deadline_ms):
        self.pin.value(0)
        self.state = next_state
        self._deadline_ms = deadline_ms

    def kick(self, now):
        self._watchdog_deadline_ms = now + self.watchdog_ms

    def configure_watchdog(self, timeout_s, now) -> int:
        """0 (ACK) or a NACK reason."""
        if not self.pin:
            return wire.NACK_UNSUPPORTED
        if 0 < timeout_s < MIN_WATCHDOG_S:
            return wire.NACK_OUT_OF_RANGE
        self.watchdog_ms = timeout_s * 1000
        self.kick(now)
        return 0

    def request_sleep(self, wake_unix, unix_now, now) -> int:
        """Cut power after the grace period, until ``wake_unix`` (0: a PIR). 0 (ACK) or a NACK reason."""
        if not self.pin:
            return wire.NACK_UNSUPPORTED
        if wake_unix and not unix_now:
            return wire.NACK_NOT_READY  # cannot wake at a time without a clock: set_time first
        if wake_unix and wake_unix <= unix_now:
            return wire.NACK_OUT_OF_RANGE
        self._wake_unix = wake_unix
        self.state = PI_SHUTTING_DOWN
        self._deadline_ms = now + self.sleep_grace_ms
        return 0

    def motion(self, now) -> int:
        """A PIR fired: a sleeping Pi wakes."""
        if self.state != PI_SLEEPING:
            return UNCHANGED
        self.switch_on(now)
        return SWITCHED_ON

    def tick(self, now, unix_now) -> int:
        """Apply whatever rule is due; SWITCHED_OFF, SWITCHED_ON or UNCHANGED."""
        state = self.state
        if state == PI_ON and self.watchdog_ms and now >= self._watchdog_deadline_ms:
            self.power_cycles += 1  # the Pi stopped kicking: cut its power, give it back later
            self._switch_off(PI_CYCLING, now + POWER_CYCLE_OFF_MS)
            return SWITCHED_OFF
        if state == PI_SHUTTING_DOWN and now >= self._deadline_ms:
            self._switch_off(PI_SLEEPING, 0)
            return SWITCHED_OFF
        if (state == PI_CYCLING and now >= self._deadline_ms) or (
            state == PI_SLEEPING and self._wake_unix and unix_now >= self._wake_unix
        ):
            self.switch_on(now)
            return SWITCHED_ON
        return UNCHANGED

    def deadlines(self) -> list:
        """Uptimes at which tick() may have something to do (a timed wake is checked each second)."""
        if self.state == PI_ON:
            return [self._watchdog_deadline_ms] if self.watchdog_ms else []
        if self.state == PI_SHUTTING_DOWN or self.state == PI_CYCLING:
            return [self._deadline_ms]
        return []
