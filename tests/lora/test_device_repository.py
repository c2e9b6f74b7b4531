"""deploy/lorawan/device-repository: the files The Things Stack's device repository expects for a trapd station,
and every example in its codec file replayed through codec.js under Node (and the Python mirror)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from station.wire.lora_json import decode_downlink_json, decode_uplink_json, encode_downlink_json

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "deploy" / "lorawan" / "device-repository" / "vendor" / "trapd"
CODEC_JS = ROOT / "deploy" / "lorawan" / "codec.js"
RUNNER_JS = Path(__file__).with_name("device_repo_runner.js")
NODE = shutil.which("node")
SECTIONS = ("uplinkDecoder", "downlinkEncoder", "downlinkDecoder")


def load(name: str) -> Any:
    return yaml.safe_load((VENDOR / name).read_text(encoding="utf-8"))


def device() -> dict[str, Any]:
    return load("trapd-station.yaml")


def codec_examples() -> dict[str, list[dict[str, Any]]]:
    codec = load("trapd-station-codec.yaml")
    return {section: codec[section]["examples"] for section in SECTIONS}


def test_index_lists_the_device_and_every_profile_and_codec_exists() -> None:
    assert load("index.yaml") == {"endDevices": ["trapd-station"]}
    profiles = [p for version in device()["firmwareVersions"] for p in version["profiles"].items()]
    assert {region for region, _ in profiles} == {"RU864-870", "CN470-510"}  # the two parks' bands
    for region, profile in profiles:
        settings = load(profile["id"] + ".yaml")
        assert settings["supportsJoin"] is True and settings["macVersion"] == "1.0.3", region
        assert load(profile["codec"] + ".yaml")  # the codec file the profile names


def test_codec_file_names_the_shipped_codec() -> None:
    codec = load("trapd-station-codec.yaml")
    for section in SECTIONS:
        named = VENDOR / codec[section]["fileName"]
        assert named.resolve() == CODEC_JS.resolve(), f"{section} must use deploy/lorawan/codec.js itself"


def test_examples_cover_a_wrong_port_and_a_broken_frame() -> None:
    errors = [e["output"].get("errors", []) for e in codec_examples()["uplinkDecoder"]]
    assert ["unexpected fPort 99: trapd uplinks use fPort 10"] in errors
    assert any(e and "truncated" in e[0] for e in errors)


def expected(section: str, example: dict[str, Any]) -> dict[str, Any]:
    """An example's output as a codec answers it: omitted data/warnings/errors are empty."""
    output = example["output"]
    answer = {"warnings": output.get("warnings", []), "errors": output.get("errors", [])}
    if section == "downlinkEncoder":
        return {**answer, "bytes": output.get("bytes", []), "fPort": output.get("fPort", 20)}
    return {**answer, "data": output.get("data", {})}


def comparable(section: str, answer: dict[str, Any]) -> dict[str, Any]:
    if section == "downlinkEncoder" and answer["errors"]:
        return {**answer, "bytes": [], "fPort": 20}
    return answer


@pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed; the JS codec cannot run")
def test_every_example_replays_through_codec_js(tmp_path: Path) -> None:
    examples = codec_examples()
    vectors = tmp_path / "examples.json"
    vectors.write_text(json.dumps({section: [e["input"] for e in items] for section, items in examples.items()}))
    done = subprocess.run([NODE, str(RUNNER_JS), str(CODEC_JS), str(vectors)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    for section, items in examples.items():
        for example, answer in zip(items, answers[section], strict=True):
            assert comparable(section, answer) == comparable(section, expected(section, example)), \
                example["description"]


def test_every_example_replays_through_the_python_mirror() -> None:
    python = {"uplinkDecoder": lambda i: decode_uplink_json(bytes(i["bytes"]), i["fPort"]),
              "downlinkDecoder": lambda i: decode_downlink_json(bytes(i["bytes"]), i["fPort"]),
              "downlinkEncoder": lambda i: encode_downlink_json(i["data"])}
    for section, items in codec_examples().items():
        for example in items:
            answer = python[section](example["input"])
            assert comparable(section, answer) == comparable(section, expected(section, example)), \
                example["description"]


@pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed; the JS codec cannot run")
def test_codec_js_refuses_values_that_are_not_bytes_and_absurd_lengths(tmp_path: Path) -> None:
    """A network server or a hand-written test input with 300 or -1 in `bytes` is a broken input: it was masked
    into a byte and decoded as a real detection. A length of a billion is refused before any work."""
    good = codec_examples()["uplinkDecoder"][1]["input"]
    inputs = [{**good, "bytes": good["bytes"][:-1] + [300]}, {**good, "bytes": [-1, *good["bytes"][1:]]},
              {**good, "bytes": [*good["bytes"][:-1], 0.5]}, {"fPort": 10, "bytes": {"length": 10**9}}, good]
    vectors = tmp_path / "bad.json"
    vectors.write_text(json.dumps({"uplinkDecoder": inputs}))
    done = subprocess.run([NODE, str(RUNNER_JS), str(CODEC_JS), str(vectors)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    *bad, ok = json.loads(done.stdout)["uplinkDecoder"]
    assert [answer["errors"] for answer in bad] == [
        ["byte 10 (300) is not 0-255"], ["byte 0 (-1) is not 0-255"], ["byte 10 (0.5) is not 0-255"],
        ["1000000000 bytes: a LoRaWAN payload holds at most 255"]]
    assert all(answer["data"] == {} for answer in bad)
    assert ok["errors"] == [] and ok["data"]["detections"][0]["species"] == "amur_leopard"
