"""The ranger's page under attack, over real sockets on loopback against a running station (issue 14, 11–14).

- a POST whose Content-Length is negative, missing, malformed or too big is refused before its body is read;
- 1,200 slow connections (slowloris) cost a bounded number of threads and file descriptors, the camera keeps
  storing frames under a small file limit, a ranger at another address still gets the page, and once the
  slow clients are cut the page answers again;
- 60 concurrent logins from one address cannot outrun the throttle (the right password last stays out);
- ``/lang/xx?next=`` takes only a plain local path: no header split, no off-site redirect (fuzzed).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.web import limits
from station.web.auth import FREE_FAILURES
from station.web.request import local_path
from tests.conftest import wait_until
from tests.web.conftest import PASSWORD, PageStation, page_station

SLOW_CLIENTS = Path(__file__).with_name("slow_clients.py")


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageStation]:
    with page_station(tmp_path_factory.mktemp("hostile-web")) as running:
        yield running


@pytest.fixture(autouse=True)
def forgive_failures(station: PageStation) -> Iterator[None]:
    yield
    station.web.throttle = type(station.web.throttle)()  # each test starts with no failures counted


def raw_exchange(station: PageStation, head: bytes, *, body_bytes: int = 0, source: str = "127.0.0.1",
                 timeout: float = 10.0) -> tuple[bytes, int]:
    """Send ``head`` then up to ``body_bytes`` of body; return (the answer, body bytes the server took)."""
    sock = socket.create_connection(station.web.address, timeout=timeout, source_address=(source, 0))
    answer: list[bytes] = []
    reader = threading.Thread(target=lambda: answer.append(_read_all(sock)))
    sent = 0
    try:
        sock.sendall(head)
        reader.start()
        chunk = b"x" * 65536
        while sent < body_bytes:
            sent += sock.send(chunk[:body_bytes - sent])
    except OSError:
        pass  # the server closed the connection: it stopped taking bytes
    finally:
        if not reader.is_alive() and not answer:
            reader.start()
        reader.join(timeout)
        sock.close()
    return (answer[0] if answer else b""), sent


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    return data


def post_head(station: PageStation, length_header: str | None, extra: str = "") -> bytes:
    host, port = station.web.address
    length = f"Content-Length: {length_header}\r\n" if length_header is not None else ""
    return (f"POST /login HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"{length}{extra}\r\n").encode()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def http_status(station: PageStation, path: str = "/login", *, source: str = "127.0.0.1",
                timeout: float = 10.0) -> int:
    host, port = station.web.address
    answer, _ = raw_exchange(station, f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode(),
                             source=source, timeout=timeout)
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


# -- 11: the body's length ----------------------------------------------------------------------------------------
def test_a_negative_content_length_is_refused_without_reading_the_stream(station):
    before = rss_mb()
    answer, taken = raw_exchange(station, post_head(station, "-1"), body_bytes=200 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:80]
    assert taken < 50 * 1024 * 1024, f"the server went on taking {taken} bytes"
    assert rss_mb() - before < 30
    assert http_status(station) == 200  # and the page is still there


@pytest.mark.parametrize(("length", "status"), [
    (None, 411), ("abc", 400), ("1e3", 400), ("+5", 400), ("5 5", 400), ("٣", 400), ("99999999999999999999", 400),
    (str(limits.MAX_FORM_BYTES + 1), 413), ("1000000000", 413)])
def test_missing_malformed_or_oversized_lengths_are_refused(station, length, status):
    answer, _ = raw_exchange(station, post_head(station, length), body_bytes=1024)
    assert answer.startswith(f"HTTP/1.0 {status} ".encode()), (length, answer[:80])


def test_a_chunked_body_is_refused_as_it_has_no_length(station):
    answer, _ = raw_exchange(station, post_head(station, None, "Transfer-Encoding: chunked\r\n"),
                             body_bytes=4096)
    assert answer.startswith(b"HTTP/1.0 411 ")


def test_a_form_at_the_limit_is_still_read(station):
    body = urlencode({"password": "x" * (limits.MAX_FORM_BYTES - 20)}).encode()
    answer, _ = raw_exchange(station, post_head(station, str(len(body))) + body)
    assert answer.startswith(b"HTTP/1.0 401 ")  # read, checked, wrong


# -- 12: slow connections -----------------------------------------------------------------------------------------
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def held_connections(port: int) -> int:
    """Connections the page has accepted and holds: this process's established sockets on ``port`` (a client
    still waiting in the listen queue has no socket in any process yet: inode 0 in /proc/net/tcp)."""
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            ours.add(link[len("socket:["):-1])
    held = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/self/net/{table}").read_text().splitlines()[1:]:
            local, state, inode = (line.split()[i] for i in (1, 3, 9))
            held += int(local.rsplit(":", 1)[1], 16) == port and state == "01" and inode in ours  # 01: ESTABLISHED
    return held


def wait_for_held_connections(station: PageStation, count: int) -> None:
    port = station.web.address[1]
    wait_until(lambda: held_connections(port) >= count, timeout=20, interval=0.05,
               message=lambda: f"{count} connections held by the slow clients (now {held_connections(port)})")


def slow_attack(station: PageStation, *, count: int, addresses: int, duration_s: float,
                enough_closed: int | None = None) -> subprocess.Popen:
    host, port = station.web.address
    extra = [] if enough_closed is None else [str(enough_closed)]
    return subprocess.Popen([sys.executable, str(SLOW_CLIENTS), host, str(port), str(count), str(addresses),
                             "4", str(duration_s), *extra], stdout=subprocess.PIPE, text=True)


def test_one_address_with_1200_slow_connections_cannot_lock_the_ranger_out(station):
    # the attack lasts 4 s, and longer (up to 40 s) until the server has turned 200 away: on a loaded machine
    # that takes longer than 4 s; the bound is a count, not a rate
    attack = slow_attack(station, count=1200, addresses=1, duration_s=4, enough_closed=200)
    try:
        wait_for_held_connections(station, limits.MAX_PER_ADDRESS)  # the one address holds all it may
        assert http_status(station, source="127.0.0.2", timeout=5) == 200  # the ranger's phone, elsewhere
    finally:
        result = json.loads(attack.communicate(timeout=60)[0])
    assert result["opened"] == 1200 and result["closed_by_server"] >= 200, result  # turned away, not held


def test_1200_slow_connections_cost_bounded_threads_and_files_and_frames_are_still_stored(station):
    app = station.app
    threads, fds = threading.active_count(), open_fds()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (fds + 64, hard))  # far below the 1,024 a Pi has by default
    frames, errors = app.stats.get("frames"), app.stats.get("capture_errors")
    seen_threads, seen_fds = [threads], [fds]
    attack = slow_attack(station, count=1200, addresses=300, duration_s=limits.REQUEST_DEADLINE_S + 2)
    try:
        for _ in range(3):  # each round measured while slow clients hold every one of the page's workers
            wait_for_held_connections(station, limits.MAX_CONNECTIONS)
            app.parts.trigger_source.fire("amur_tiger")
            assert app.wait_idle(15)
            seen_threads.append(threading.active_count())
            seen_fds.append(open_fds())
        result = json.loads(attack.communicate(timeout=60)[0])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        if attack.poll() is None:
            attack.kill()
    assert result["opened"] == 1200, result
    assert max(seen_threads) <= threads + 1, seen_threads  # the pool was made when the page switched on
    assert max(seen_fds) <= fds + limits.MAX_CONNECTIONS + 8, seen_fds
    assert result["closed_by_server"] >= limits.MAX_CONNECTIONS, result  # trickling past the deadline: cut
    assert app.stats.get("frames") - frames == 3 * app.config.capture.burst_frames
    assert app.stats.get("capture_errors") == errors
    # the clients are gone: the page answers again at once
    wait_until(lambda: http_status(station, timeout=5) == 200, timeout=15, interval=0.2,
               message="the page to come back after the slow clients left")


# -- 13: concurrent logins ----------------------------------------------------------------------------------------
def test_60_concurrent_logins_with_the_right_password_last_stay_locked_out(station):
    host, port = station.web.address

    def attempt(password: str) -> int:
        body = urlencode({"password": password}).encode()
        answer, _ = raw_exchange(station, post_head(station, str(len(body))) + body, timeout=60)
        return int(answer.split(b" ", 2)[1])

    passwords = [f"guess-{n:04d}" for n in range(59)] + [PASSWORD]
    with ThreadPoolExecutor(max_workers=limits.MAX_PER_ADDRESS) as pool:
        answers = list(pool.map(attempt, passwords))
    assert answers.count(401) <= FREE_FAILURES and answers.count(303) == 0, answers
    assert answers[-1] == 429 and answers.count(429) >= 60 - FREE_FAILURES


def test_concurrent_logins_from_many_addresses_are_held_by_the_global_throttle(station):
    from station.web.auth import GLOBAL_FAILURES_PER_MINUTE

    def attempt(n: int) -> int:
        body = urlencode({"password": f"spread-{n}"}).encode()
        answer, _ = raw_exchange(station, post_head(station, str(len(body))) + body, source=f"127.0.3.{n + 2}",
                                 timeout=60)
        return int(answer.split(b" ", 2)[1])

    with ThreadPoolExecutor(max_workers=limits.MAX_CONNECTIONS) as pool:
        answers = list(pool.map(attempt, range(60)))
    assert answers.count(401) <= GLOBAL_FAILURES_PER_MINUTE and answers.count(429) >= 60 - GLOBAL_FAILURES_PER_MINUTE


# -- 14: where /lang sends the browser ----------------------------------------------------------------------------
@pytest.mark.parametrize("target", [
    "/status%0d%0aSet-Cookie:%20trapd_session=evil", "/status%0aSet-Cookie:x=1", "/%09/127.0.0.1:18099/x",
    "//evil.example/", "/\\evil.example", "https://evil.example/", "/%2F%2Fevil.example", "/%252F%252Fevil",
    "/%20/evil", "/status%00", "javascript:alert(1)", "/walk?x=%0d%0a", "%2F%2Fevil.example"])
def test_language_redirects_never_split_a_header_or_leave_the_station(station, target):
    host, port = station.web.address
    answer, _ = raw_exchange(station, f"GET /lang/ru?next={target} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
    head = answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert head[0].startswith(b"HTTP/1.0 303 ")
    assert [line for line in head if line.lower().startswith(b"location:")] == [b"Location: /status"]
    assert [line for line in head if line.lower().startswith(b"set-cookie:")] == [
        b"Set-Cookie: trapd_lang=ru; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000"]


def test_a_plain_local_path_is_kept(station):
    for target in ("/walk", "/detections", "/media/01900000-0000-7000-8000-000000000000/thumb"):
        host, port = station.web.address
        request = f"GET /lang/zh?next={quote(target)} HTTP/1.0\r\nHost: {host}\r\n\r\n"
        answer, _ = raw_exchange(station, request.encode())
        assert f"\r\nLocation: {target}\r\n".encode() in answer


def _as_a_browser_reads_it(location: str) -> tuple[str, str]:
    """Where a browser goes: it drops tabs and line breaks and reads a backslash as a slash."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/").strip()
    url = urlsplit(cleaned)
    return url.scheme, url.netloc


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="/\\.:%@?#&=\t\r\n \x00\x7fabc0123").map(lambda t: "/" + t)))
def test_fuzzed_redirect_targets_stay_plain_local_paths(text):
    target = local_path(text)
    assert target == "/status" or target == text
    assert target.startswith("/") and not target.startswith("//") and len(target) <= 200
    assert all(33 <= ord(c) < 127 for c in target) and "\\" not in target and "%" not in target
    assert _as_a_browser_reads_it(target) == ("", "")


def test_the_page_leaves_the_last_files_to_the_camera(station):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_fds() + limits.FD_RESERVE - 2, hard))
    try:
        assert not limits.files_to_spare()
        with socket.create_connection(station.web.address, timeout=2) as probe, pytest.raises(OSError):
            probe.recv(1)  # not accepted: the client waits in the listen queue until it gives up
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert http_status(station) == 200  # taken as soon as there are files to spare


def test_the_unit_sets_a_fixed_file_limit_above_what_the_page_may_take():
    unit = (Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "trapd.service").read_text()
    values = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert len(values) == 1 and values[0].isdigit(), values  # one number: soft and hard alike
    assert int(values[0]) >= 4096
