"""The systemd notify protocol against a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rig_agent.systemd import Notifier, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield sock, path
    sock.close()


def test_ready_reaches_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("capturing 3 channels")
    assert sock.recv(4096) == b"READY=1\nSTATUS=capturing 3 channels"


def test_stopping_reloading_and_watchdog(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.stopping()
    notifier.watchdog()
    notifier.reloading()
    assert sock.recv(4096) == b"STOPPING=1"
    assert sock.recv(4096) == b"WATCHDOG=1"
    first, second = sock.recv(4096).split(b"\n")
    assert first == b"RELOADING=1" and second.startswith(b"MONOTONIC_USEC=")


def test_abstract_namespace_socket() -> None:
    name = f"rig-agent-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and not notifier.ready()


def test_vanished_socket_is_not_fatal(tmp_path: Path) -> None:
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


def test_watchdog_interval_is_half_the_period_for_this_process() -> None:
    pid = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": pid}) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
