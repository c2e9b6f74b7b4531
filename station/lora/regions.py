"""Regional LoRaWAN parameters the station relies on: data rates, payload limits, duty cycle, dwell.

Only the two regions of the parks are described: RU864 (Russia, LLNP) and CN470 (China, TLNP).

Payload limit = N, the largest FRMPayload (application bytes) per uplink when FOpts is empty, from the
LoRaWAN Regional Parameters RP002-1.0.x tables as transcribed by three independent stacks:

- ChirpStack ``lrwn/src/region/ru864.rs`` and ``cn470.rs`` (github.com/chirpstack/chirpstack), which keep
  one table per RP002 revision;
- Semtech LoRaMac-node ``src/mac/region/RegionRU864.h`` (``MaxPayloadOfDatarateRU864``) and
  ``RegionCN470.h`` (``MaxPayloadOfDatarateCN470``) (github.com/Lora-net/LoRaMac-node);
- The Things Stack ``pkg/band/ru_864_870_rp2_v1_0_3.go`` and ``cn_470_510_20_a_rp2_v1_0_3.go``
  (github.com/TheThingsNetwork/lorawan-stack), which lists M (MACPayload); N = M - 8.

RU864 (RP002-1.0.0 to 1.0.4, no repeater): DR0-DR2 51, DR3 115, DR4-DR5 242. All three agree.

CN470 (the plan of RP002-1.0.1 and later): DR0 is not defined for uplinks; DR1 23, DR2 86, DR4-DR5 242.
DR3 differs between sources: 164 (ChirpStack's RP002-1.0.1 table, and The Things Stack for every RP002
revision) or 184 (ChirpStack's RP002-1.0.2/1.0.3 table, LoRaMac-node). We use the smaller, 164, which every
revision accepts. Each of these limits keeps one uplink under one second on air (a test checks it), and
DR0 (SF12) cannot carry even an empty frame in under a second; that is why the station treats CN470 as
having a 1 s dwell limit.

Duty cycle: RU864 1 % over 864-870 MHz (LoRaMac-node ``RU864_BAND0`` = 100, i.e. 1 %, with
``RU864_DUTY_CYCLE_ENABLED 1``; The Things Stack ``SubBands`` 864-870 MHz ``DutyCycle: 0.01``). CN470: no
duty cycle in the stacks (LoRaMac-node ``CN470_DUTY_CYCLE_ENABLED 0``; The Things Stack ``DutyCycle: 1``).

Module variants: RUI3 modules come as a low-frequency variant (bands EU433 and CN470) and a high-frequency
variant (RU864, EU868, ...), per the RUI3 AT manual's ``AT+BAND`` notes; ``AT+BAND`` numbers are 1 = CN470,
2 = RU864. A RU864 station needs the high variant (e.g. RAK3172-H); a CN470 station the low one (RAK3172-L).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from station.lora.errors import LoRaConfigError

ModuleVariant = Literal["high", "low"]
RegionName = Literal["RU864", "CN470"]

#: Seconds in the duty-cycle observation window (ETSI-style: one hour).
HOUR_S = 3600.0


@dataclasses.dataclass(frozen=True)
class DataRate:
    """One LoRa data rate of a region."""

    index: int
    spreading_factor: int
    bandwidth_hz: int
    #: N: largest application payload in bytes, or None when the region does not allow uplinks at this DR.
    max_payload: int | None


@dataclasses.dataclass(frozen=True)
class Region:
    """What the station needs to know about one LoRaWAN region."""

    name: RegionName
    band_mhz: tuple[float, float]
    module_variant: ModuleVariant
    rui3_band: int  # the AT+BAND number of RUI3 modules
    #: Fraction of time the radio may transmit (over ``HOUR_S``); None = no duty cycle in the region.
    duty_cycle: float | None
    #: Longest single transmission in seconds; None = no dwell limit.
    max_dwell_s: float | None
    #: Default airtime budget per hour when the region has no duty cycle (a prudent project choice).
    default_hourly_airtime_s: float
    data_rates: Mapping[int, DataRate]
    sources: tuple[str, ...]

    def data_rate(self, index: int) -> DataRate:
        """The data rate ``index`` of this region; LoRaConfigError if the region has none."""
        try:
            return self.data_rates[index]
        except KeyError:
            known = ", ".join(f"DR{i}" for i in sorted(self.data_rates))
            raise LoRaConfigError(f"{self.name} has no DR{index} (known: {known})") from None

    def max_payload(self, index: int) -> int:
        """N for data rate ``index``; LoRaConfigError when uplinks are not allowed at that data rate."""
        limit = self.data_rate(index).max_payload
        if limit is None:
            raise LoRaConfigError(f"{self.name} DR{index} is not usable for uplinks; use DR1 or higher")
        return limit

    def usable_data_rates(self) -> tuple[int, ...]:
        return tuple(i for i, dr in sorted(self.data_rates.items()) if dr.max_payload is not None)


def _rates(rows: list[tuple[int, int, int | None]]) -> Mapping[int, DataRate]:
    return MappingProxyType({i: DataRate(i, sf, 125_000, n) for i, sf, n in rows})


RU864 = Region(
    name="RU864",
    band_mhz=(864.0, 870.0),
    module_variant="high",
    rui3_band=2,
    duty_cycle=0.01,
    max_dwell_s=None,
    default_hourly_airtime_s=0.01 * HOUR_S,
    data_rates=_rates([(0, 12, 51), (1, 11, 51), (2, 10, 51), (3, 9, 115), (4, 8, 242), (5, 7, 242)]),
    sources=(
        "LoRaWAN Regional Parameters RP002-1.0.x, RU864-870 (payload table, 1 % duty cycle)",
        "chirpstack lrwn/src/region/ru864.rs (N per DR, RP002-1.0.0..1.0.4)",
        "Lora-net/LoRaMac-node src/mac/region/RegionRU864.h (MaxPayloadOfDatarateRU864, RU864_BAND0 1 %)",
        "TheThingsNetwork/lorawan-stack pkg/band/ru_864_870_rp2_v1_0_3.go (DutyCycle 0.01, 864-870 MHz)",
    ),
)

CN470 = Region(
    name="CN470",
    band_mhz=(470.0, 510.0),
    module_variant="low",
    rui3_band=1,
    duty_cycle=None,
    max_dwell_s=1.0,
    default_hourly_airtime_s=36.0,
    data_rates=_rates([(0, 12, None), (1, 11, 23), (2, 10, 86), (3, 9, 164), (4, 8, 242), (5, 7, 242)]),
    sources=(
        "LoRaWAN Regional Parameters RP002-1.0.1+ CN470-510 (DR0 undefined, DR1 23 bytes)",
        "chirpstack lrwn/src/region/cn470.rs (RP002-1.0.1: 0/23/86/164/242; 1.0.2+: DR3 184)",
        "Lora-net/LoRaMac-node src/mac/region/RegionCN470.h (MaxPayloadOfDatarateCN470 0,23,86,184,242)",
        "TheThingsNetwork/lorawan-stack pkg/band/cn_470_510_20_a_rp2_v1_0_3.go (M 31/94/172/250)",
    ),
)

REGIONS: Mapping[str, Region] = MappingProxyType({"RU864": RU864, "CN470": CN470})


def region(name: str) -> Region:
    """The region called ``name`` (RU864 or CN470)."""
    try:
        return REGIONS[name.upper()]
    except KeyError:
        raise LoRaConfigError(f"unknown LoRaWAN region {name!r}; use one of {', '.join(REGIONS)}") from None


def check_module_variant(region_: Region, variant: str) -> None:
    """Refuse a radio module that cannot legally or physically work in ``region_``'s band."""
    if variant != region_.module_variant:
        low, high = region_.band_mhz
        raise LoRaConfigError(
            f"{region_.name} ({low:g}-{high:g} MHz) needs the {region_.module_variant}-frequency module "
            f"variant, but the config says {variant!r} (RAK3172-H is high, RAK3172-L is low)")
