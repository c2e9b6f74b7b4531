"""Time on air against published values, and the regional tables against their sources."""

from __future__ import annotations

import pytest

from station.lora.airtime import (
    JOIN_REQUEST_BYTES,
    LORAWAN_OVERHEAD_BYTES,
    join_time_on_air_s,
    time_on_air_s,
    uplink_time_on_air_s,
)
from station.lora.errors import LoRaConfigError
from station.lora.regions import CN470, REGIONS, RU864, check_module_variant, region


def test_51_bytes_at_sf12_take_2_47_seconds() -> None:
    assert time_on_air_s(51, spreading_factor=12, bandwidth_hz=125_000) == pytest.approx(2.465792, abs=1e-9)


@pytest.mark.parametrize(("sf", "micros"), [(7, 41216), (8, 72192), (9, 144384), (10, 288768), (11, 577536),
                                            (12, 991232)])
def test_ten_bytes_per_spreading_factor_as_the_things_stack(sf: int, micros: int) -> None:
    # lorawan-stack pkg/toa/toa_test.go TestDifferentLoRaSFs: 10-byte payload, 125 kHz, CR 4/5
    assert time_on_air_s(10, spreading_factor=sf, bandwidth_hz=125_000) == pytest.approx(micros / 1e6, abs=1e-9)


@pytest.mark.parametrize(("size", "micros"), [(13, 46336), (15, 46336), (16, 51456), (19, 51456)])
def test_payload_steps_at_sf7_as_the_things_stack(size: int, micros: int) -> None:
    # lorawan-stack pkg/toa/toa_test.go TestDifferentLoRaPayloadSizes
    assert time_on_air_s(size, spreading_factor=7, bandwidth_hz=125_000) == pytest.approx(micros / 1e6, abs=1e-9)


def test_bandwidth_and_coding_rate() -> None:
    assert time_on_air_s(10, spreading_factor=7, bandwidth_hz=250_000) == pytest.approx(0.020608, abs=1e-9)
    assert time_on_air_s(10, spreading_factor=7, bandwidth_hz=500_000) == pytest.approx(0.010304, abs=1e-9)
    assert (time_on_air_s(10, spreading_factor=7, bandwidth_hz=125_000, coding_rate=4)
            == pytest.approx(0.053504, abs=1e-9))


def test_semtech_designers_guide_example() -> None:
    # AN1200.13 calculator sheet: 13 bytes, SF9, 125 kHz, explicit header, no LDRO, CR 4/5 -> 164.864 ms
    assert time_on_air_s(13, spreading_factor=9, bandwidth_hz=125_000) == pytest.approx(0.164864, abs=1e-9)


def test_low_data_rate_optimisation_only_above_16_ms_symbols() -> None:
    auto = time_on_air_s(51, spreading_factor=12, bandwidth_hz=125_000)
    assert auto == time_on_air_s(51, spreading_factor=12, bandwidth_hz=125_000, low_data_rate_optimize=True)
    assert auto > time_on_air_s(51, spreading_factor=12, bandwidth_hz=125_000, low_data_rate_optimize=False)
    sf10 = time_on_air_s(51, spreading_factor=10, bandwidth_hz=125_000)
    assert sf10 == time_on_air_s(51, spreading_factor=10, bandwidth_hz=125_000, low_data_rate_optimize=False)


def test_lorawan_framing() -> None:
    assert LORAWAN_OVERHEAD_BYTES == 13 and JOIN_REQUEST_BYTES == 23
    dr0 = RU864.data_rate(0)
    assert uplink_time_on_air_s(38, dr0) == time_on_air_s(51, spreading_factor=12, bandwidth_hz=125_000)
    assert join_time_on_air_s(dr0) == time_on_air_s(23, spreading_factor=12, bandwidth_hz=125_000)


def test_bad_radio_parameters() -> None:
    with pytest.raises(ValueError):
        time_on_air_s(10, spreading_factor=13, bandwidth_hz=125_000)
    with pytest.raises(ValueError):
        time_on_air_s(10, spreading_factor=7, bandwidth_hz=125_000, coding_rate=5)
    with pytest.raises(ValueError):
        time_on_air_s(-1, spreading_factor=7, bandwidth_hz=125_000)


def test_payload_tables() -> None:
    assert [RU864.max_payload(dr) for dr in range(6)] == [51, 51, 51, 115, 242, 242]
    assert [CN470.max_payload(dr) for dr in range(1, 6)] == [23, 86, 164, 242, 242]
    assert [RU864.data_rate(dr).spreading_factor for dr in range(6)] == [12, 11, 10, 9, 8, 7]
    assert CN470.usable_data_rates() == (1, 2, 3, 4, 5)
    with pytest.raises(LoRaConfigError, match="DR0 is not usable"):
        CN470.max_payload(0)
    with pytest.raises(LoRaConfigError, match="no DR6"):
        RU864.data_rate(6)
    assert all(r.sources for r in REGIONS.values())


def test_cn470_limits_keep_every_uplink_under_one_second() -> None:
    # Why CN470 gets a 1 s dwell limit: each RP002 payload limit is the largest that stays under 1 s,
    # and DR0 cannot carry even an empty frame in under 1 s.
    for dr in CN470.usable_data_rates():
        rate = CN470.data_rate(dr)
        assert uplink_time_on_air_s(CN470.max_payload(dr), rate) < 1.0
    assert uplink_time_on_air_s(24, CN470.data_rate(1)) > 1.0  # one byte more than DR1's limit
    assert uplink_time_on_air_s(0, CN470.data_rate(0)) > 1.0
    assert CN470.max_dwell_s == 1.0 and CN470.duty_cycle is None


def test_regions_by_name_and_module_variant() -> None:
    assert region("ru864") is RU864 and region("CN470") is CN470
    with pytest.raises(LoRaConfigError, match="unknown LoRaWAN region"):
        region("EU868")
    check_module_variant(RU864, "high")
    check_module_variant(CN470, "low")
    with pytest.raises(LoRaConfigError, match="CN470 .* needs the low-frequency"):
        check_module_variant(CN470, "high")
    with pytest.raises(LoRaConfigError, match="RU864 .* needs the high-frequency"):
        check_module_variant(RU864, "low")
