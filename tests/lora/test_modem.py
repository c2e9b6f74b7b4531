"""The RUI3 driver against the simulated RAK3172 on a pty: the conversations a station has in the field."""

from __future__ import annotations

import threading

import pytest

from station.lora.errors import LoRaConfigError, ModemCommandError, ModemError, ModemTimeoutError
from station.lora.modem import AtModem
from station.lora.modem_sim import SimulatedModem, SimUplink
from station.lora.ports import Downlink, LoRaModem, SendStatus
from station.lora.regions import CN470, RU864
from station.wire.lora_codec import RequestStatus, SetThresholds, decode_downlink, encode_downlink

from .conftest import APP_EUI, APP_KEY, DEV_EUI


def test_driver_is_a_lora_modem(modem: AtModem) -> None:
    assert isinstance(modem, LoRaModem)


def test_join_sets_otaa_keys_and_joins(sim: SimulatedModem, modem: AtModem) -> None:
    assert not modem.is_joined()
    assert modem.join(DEV_EUI, APP_EUI, APP_KEY.lower(), timeout=5.0)
    assert sim.keys == {"DEVEUI": DEV_EUI, "APPEUI": APP_EUI, "APPKEY": APP_KEY}
    assert "AT+NJM=1" in sim.commands and sim.commands[-1] == "AT+JOIN=1:0:10:1"
    assert modem.is_joined()


def test_join_failure_then_success(sim: SimulatedModem, modem: AtModem) -> None:
    sim.fail_next_join()
    assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0) is False
    assert not modem.is_joined()
    assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0) is True


def test_join_while_busy(sim: SimulatedModem, modem: AtModem) -> None:
    sim.busy_next()
    assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0) is False


def test_bad_keys_never_reach_the_modem(sim: SimulatedModem, modem: AtModem) -> None:
    with pytest.raises(LoRaConfigError, match="AppKey must be 16 bytes"):
        modem.join(DEV_EUI, APP_EUI, "1234", timeout=5.0)
    assert sim.commands == []


def test_send_before_join(sim: SimulatedModem, modem: AtModem) -> None:
    assert modem.send(10, b"\x01").status is SendStatus.NOT_JOINED
    assert sim.uplinks == []


def test_send_unconfirmed(sim: SimulatedModem, joined: AtModem) -> None:
    result = joined.send(10, bytes.fromhex("1101026553f10002ae200c"))
    assert result.ok and result.downlinks == ()
    assert sim.uplinks == [SimUplink(10, bytes.fromhex("1101026553f10002ae200c"), False, 0)]
    assert sim.commands[-1] == "AT+SEND=10:1101026553F10002AE200C"


def test_confirmed_no_ack_then_ack(sim: SimulatedModem, joined: AtModem) -> None:
    sim.no_ack_next()
    assert joined.send(10, b"\x01\x02", confirmed=True).status is SendStatus.NO_ACK
    assert joined.send(10, b"\x01\x02", confirmed=True).status is SendStatus.OK
    assert [u.confirmed for u in sim.uplinks] == [True, True]
    assert sim.commands.count("AT+CFM=1") == 1  # the mode is set once, not per uplink


def test_busy_then_recovers(sim: SimulatedModem, joined: AtModem) -> None:
    sim.busy_next()
    assert joined.send(10, b"\x01").status is SendStatus.BUSY
    assert joined.send(10, b"\x01").ok
    assert len(sim.uplinks) == 1


def test_duty_cycle_refusal(sim: SimulatedModem, joined: AtModem) -> None:
    sim.duty_cycle_refuse_next()
    result = joined.send(10, b"\x01")
    assert result.status is SendStatus.DUTY_CYCLE and not result.ok
    assert sim.uplinks == []
    assert joined.send(10, b"\x01").ok


def test_downlink_is_returned_and_handed_to_the_callback(sim: SimulatedModem) -> None:
    received: list[Downlink] = []
    arrived = threading.Event()

    def on_downlink(downlink: Downlink) -> None:
        received.append(downlink)
        arrived.set()

    command = SetThresholds(((2, 60), (1, 40)))
    with AtModem.open(sim.port_name, on_downlink=on_downlink, rx_grace_s=2.0) as modem:
        assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0)
        sim.queue_downlink(20, encode_downlink(command))
        result = modem.send(10, b"\x01")
        assert arrived.wait(timeout=5.0)
    assert result.ok
    assert result.downlinks == (Downlink(20, encode_downlink(command), -72, 7),)
    assert decode_downlink(result.downlinks[0].payload) == command
    assert received == list(result.downlinks)


def test_downlink_waits_for_a_successful_uplink(sim: SimulatedModem, joined: AtModem) -> None:
    sim.queue_downlink(20, encode_downlink(RequestStatus()))
    sim.duty_cycle_refuse_next()
    assert joined.send(10, b"\x01").downlinks == ()
    assert decode_downlink(joined.send(10, b"\x01").downlinks[0].payload) == RequestStatus()


def test_data_rate(sim: SimulatedModem, modem: AtModem) -> None:
    assert modem.data_rate() == 0
    sim.set_data_rate(3)  # the network moved us (ADR)
    assert modem.data_rate() == 3
    modem.set_adr(False)
    modem.set_data_rate(5)
    assert modem.data_rate() == 5 and sim.data_rate == 5
    with pytest.raises(ModemCommandError) as refused:
        modem.set_data_rate(9)
    assert refused.value.status == "AT_PARAM_ERROR"


def test_region_and_module_variant(sim: SimulatedModem, modem: AtModem) -> None:
    modem.set_region(RU864)
    assert sim.commands[-1] == "AT+BAND=2"
    with pytest.raises(ModemCommandError, match="AT_PARAM_ERROR to AT\\+BAND=1"):
        modem.set_region(CN470)  # a high-frequency module cannot do CN470


def test_oversized_payload_is_refused(sim: SimulatedModem, joined: AtModem) -> None:
    with pytest.raises(ModemCommandError, match="AT_PARAM_ERROR"):
        joined.send(10, bytes(52))  # DR0 carries 51
    with pytest.raises(LoRaConfigError):
        joined.send(0, b"\x01")
    with pytest.raises(LoRaConfigError):
        joined.send(10, b"")


def test_garbage_and_stray_events_on_the_line(sim: SimulatedModem, joined: AtModem) -> None:
    sim.emit(b"\x00\xff\xfe garbage\r\n+EVT:LINKCHECK:0:20:1:-60:8\r\n+EVT:RX_1:bad\r\n")
    sim.emit(b"x" * 5000)  # a long run without a line end
    sim.emit(b"\r\n")
    assert joined.send(10, b"\x01").ok
    assert joined.data_rate() == 0


def test_echo_on(sim: SimulatedModem, joined: AtModem) -> None:
    sim.echo = True
    assert joined.data_rate() == 0
    assert joined.send(10, b"\x01").ok


def test_silent_modem_times_out(sim: SimulatedModem) -> None:
    with AtModem.open(sim.port_name, command_timeout_s=0.3) as modem:
        sim.mute()
        with pytest.raises(ModemTimeoutError, match="no answer to AT\\+DR=\\?"):
            modem.data_rate()
        with pytest.raises(TimeoutError):  # also the builtin
            modem.is_joined()


def test_send_with_no_end_of_transmission_times_out(sim: SimulatedModem) -> None:
    with AtModem.open(sim.port_name, send_timeout_s=0.3) as modem:
        assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0)
        sim.hang_next()
        with pytest.raises(ModemTimeoutError, match="no end of transmission"):
            modem.send(10, b"\x01")
        assert modem.send(10, b"\x01").ok  # the driver is still usable afterwards


def test_join_with_no_answer_from_the_network_times_out(sim: SimulatedModem) -> None:
    with AtModem.open(sim.port_name) as modem:
        sim.hang_next()
        with pytest.raises(ModemTimeoutError, match="no join result"):
            modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=0.3)
        assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0)


def test_missing_port_and_closed_driver(sim: SimulatedModem) -> None:
    with pytest.raises(ModemError, match="cannot open the LoRa modem on /nonexistent"):
        AtModem.open("/nonexistent/tty")
    modem = AtModem.open(sim.port_name)
    modem.close()
    with pytest.raises(ModemError, match="closed or failed"):
        modem.data_rate()


def test_downlink_handler_may_not_call_the_modem(sim: SimulatedModem) -> None:
    outcome: list[BaseException] = []
    done = threading.Event()
    holder: dict[str, AtModem] = {}

    def on_downlink(downlink: Downlink) -> None:
        try:
            holder["modem"].data_rate()  # would deadlock: the answer is read by this very thread
        except ModemError as exc:
            outcome.append(exc)
        done.set()

    with AtModem.open(sim.port_name, on_downlink=on_downlink, rx_grace_s=0.1) as modem:
        holder["modem"] = modem
        assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0)
        sim.queue_downlink(20, b"\x18")
        assert modem.send(10, b"\x01").ok
        assert done.wait(timeout=5.0)
        assert modem.data_rate() == 0  # the driver itself is unharmed
    assert "must not call the modem" in str(outcome[0])
