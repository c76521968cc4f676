"""The network source against loopback UDP and TCP (127.0.0.1, port 0)."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources.base import SourceUnavailable
from rig_agent.sources.network import NetworkSettings, NetworkSource
from tests.integration.rig_agent.sources.conftest import StallingSink

pytestmark = pytest.mark.network


def network_source(sink: Any, clock: RigClock, **settings: Any) -> NetworkSource:
    settings.setdefault("listen", "127.0.0.1:0")
    return NetworkSource(NetworkSettings(name="net", **settings), sink, clock)


def test_udp_datagram_gets_the_kernel_receive_stamp(sink: Any, clock: RigClock) -> None:
    with (
        network_source(sink, clock, protocol="udp", format="json") as source,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        assert source.bound_address is not None and source.bound_address[1] > 0
        before = clock.now_ns()
        sender.sendto(b'{"vru_type": "cyclist", "frame": 3}\n', source.bound_address)
        [capture] = sink.wait_for(1)
    assert capture.clock is Clock.KERNEL_REALTIME
    assert before <= capture.t_mono_ns <= sink.received_ns[0]
    assert capture.decoded == {"vru_type": "cyclist", "frame": 3}
    assert capture.raw == b'{"vru_type": "cyclist", "frame": 3}' and capture.raw_is_text


def test_kernel_stamp_is_not_moved_by_a_late_reader(sink: Any, clock: RigClock) -> None:
    """The stamp is the datagram's arrival, even when the capture reaches us much later."""
    source = network_source(sink, clock, protocol="udp", format="raw")
    with source, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        assert source.bound_address is not None
        source._reader.stop()  # the reader is stalled: datagrams wait in the kernel
        before = clock.now_ns()
        sender.sendto(b"late", source.bound_address)
        after_send = clock.now_ns()
        time.sleep(0.05)
        source._read_once()
        [capture] = sink.wait_for(1)
    assert before <= capture.t_mono_ns <= after_send + 1_000_000
    assert sink.received_ns[0] - capture.t_mono_ns >= 40_000_000


def test_datagrams_dropped_on_a_full_receive_queue_are_counted(
    stalling_sink: StallingSink, clock: RigClock
) -> None:
    """SO_RXQ_OVFL: the kernel's count of datagrams it dropped while the reader was held up."""
    burst = 3000  # far more than the default receive buffer holds
    with (
        network_source(stalling_sink, clock, protocol="udp", format="raw") as source,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        assert source.bound_address is not None
        sender.sendto(b"first", source.bound_address)
        assert stalling_sink.stalled.wait(2)
        for _ in range(burst):
            sender.sendto(b"burst", source.bound_address)
        stalling_sink.release()
        sent = 1 + burst
        deadline = time.monotonic() + 5
        while source.count + source.drops < sent and time.monotonic() < deadline:
            sender.sendto(b"after", source.bound_address)  # carries the count of the drops
            sent += 1
            time.sleep(0.01)
        time.sleep(0.05)
    assert source.drops > 0, "the burst overflowed the receive queue"
    assert source.count + source.drops == sent, "every datagram is delivered or counted"


def test_each_line_of_a_datagram_is_a_capture_with_its_stamp(sink: Any, clock: RigClock) -> None:
    with (
        network_source(
            sink, clock, protocol="udp", format="csv", columns=["vru_type", "confidence"]
        ) as source,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        assert source.bound_address is not None
        sender.sendto(b"pedestrian,0.5\ncyclist,2\n", source.bound_address)
        first, second = sink.wait_for(2)
    assert first.decoded == {"vru_type": "pedestrian", "confidence": 0.5}
    assert second.decoded["vru_type"] == "cyclist"
    assert "confidence '2' is outside [0, 1]" in second.decoded["decode_error"]
    assert first.t_mono_ns == second.t_mono_ns
    assert source.undecoded == 1


def test_tcp_stream_lines_are_stamped_at_their_first_byte(sink: Any, clock: RigClock) -> None:
    with network_source(sink, clock, protocol="tcp", format="json") as source:
        assert source.bound_address is not None
        with socket.create_connection(source.bound_address) as sender:
            sender.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            first_sent = clock.now_ns()
            sender.sendall(b'{"frame": 1}\n{"fra')
            sink.wait_for(1)  # the segment with the second line's first bytes has been read
            rest_sent = clock.now_ns()
            sender.sendall(b'me": 2}\n')
            one, two = sink.wait_for(2)
    assert [one.decoded, two.decoded] == [{"frame": 1}, {"frame": 2}]
    assert one.clock is Clock.KERNEL_REALTIME, "Linux gives SCM_TIMESTAMPNS for TCP too"
    assert first_sent <= one.t_mono_ns == two.t_mono_ns < rest_sent


def test_tcp_last_line_without_newline_is_delivered_when_the_peer_closes(
    sink: Any, clock: RigClock
) -> None:
    with network_source(sink, clock, protocol="tcp", format="raw") as source:
        assert source.bound_address is not None
        with (
            socket.create_connection(source.bound_address) as a,
            socket.create_connection(source.bound_address) as b,
        ):
            a.sendall(b"from a\n")
            b.sendall(b"from b, unterminated")
        captures = sink.wait_for(2)
    assert sorted(c.raw for c in captures) == [b"from a", b"from b, unterminated"]


def test_port_in_use_is_reported(sink: Any, clock: RigClock) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        source = network_source(sink, clock, protocol="udp", listen=f"127.0.0.1:{port}")
        with pytest.raises(
            SourceUnavailable, match=f"cannot listen on udp 127.0.0.1:{port}: the port is in use"
        ):
            source.probe()
        with pytest.raises(SourceUnavailable):
            source.start()
    assert not source.running


def test_probe_says_the_port_is_free(sink: Any, clock: RigClock) -> None:
    source = network_source(sink, clock, protocol="tcp")
    assert source.probe() == "network channel 'net': tcp 127.0.0.1:0 free"


def test_udp_over_ipv6_loopback(sink: Any, clock: RigClock) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        source = network_source(sink, clock, protocol="udp", listen="[::1]:0", format="raw")
        source.start()
    except SourceUnavailable as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with source, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sender:
        assert source.bound_address is not None
        sender.sendto(b"v6", source.bound_address)
        [capture] = sink.wait_for(1)
    assert capture.raw == b"v6" and capture.clock is Clock.KERNEL_REALTIME
