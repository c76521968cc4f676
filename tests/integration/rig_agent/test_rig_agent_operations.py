"""Operating the agent: `rig-agent check`, systemd notifications, SIGHUP reload."""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from rig_agent.cli import main

pytestmark = pytest.mark.network


def ticker(name: str, rate_hz: float = 100) -> dict[str, Any]:
    return {"name": name, "source": "simulated", "rate_hz": rate_hz}


def test_check_passes_for_a_good_config(rig: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = rig.configure([ticker("det")])
    assert main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "configuration valid" in out and "ok   channel det" in out and "ok   broker" in out


def test_check_names_the_bad_key_and_exits_2(rig: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = rig.configure([{**ticker("det"), "rate_hz": -5}])
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "channels[0].rate_hz (channel 'det'): Input should be greater than 0" in err


def test_check_reports_an_unreachable_broker(rig: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    path = rig.configure([ticker("det")], url=f"mqtt://127.0.0.1:{closed_port}")
    assert main(["check", "--config", str(path), "--timeout", "2"]) == 1
    captured = capsys.readouterr()
    assert f"FAIL broker mqtt://127.0.0.1:{closed_port}: unreachable" in captured.out
    assert "1 of 3 checks failed" in captured.err


def test_check_reports_a_missing_device(
    rig: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "ttyUSB9"
    path = rig.configure([{"name": "ecu", "source": "serial", "port": str(missing)}])
    assert main(["check", "--config", str(path)]) == 1
    assert "FAIL channel ecu:" in capsys.readouterr().out


def test_missing_config_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_systemd_ready_watchdog_and_stopping(rig: Any, tmp_path: Path) -> None:
    rig.configure([ticker("det")])
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        agent = rig.agent({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
        messages = [sock.recv(4096).decode()]
        assert messages[0].startswith("READY=1"), agent.log()
        while "WATCHDOG=1" not in messages:
            messages.append(sock.recv(4096).decode())
        agent.signal(signal.SIGTERM)
        while "STOPPING=1" not in messages:
            messages.append(sock.recv(4096).decode())
        assert agent.wait() == 0
        assert any(m.startswith("STATUS=no session; spool ") for m in messages), messages


def test_sighup_reloads_channels_and_refuses_a_broken_file(rig: Any) -> None:
    rig.configure([ticker("first")])
    subscriber = rig.subscribe()
    agent = rig.agent()

    def channels() -> set[str]:
        return {r["channel"] for r in list(subscriber.received.records)}

    rig.wait_for(lambda: "first" in channels(), 15, "records of the first channel")
    rig.configure([ticker("first"), ticker("second")])
    agent.signal(signal.SIGHUP)
    rig.wait_for(lambda: "second" in channels(), 10, "records of the channel added by reload")

    rig.config_path.write_text("rig_id = 'broken'\n[mqtt]\nurl = 'ftp://x'\n")
    agent.signal(signal.SIGHUP)
    before = len(subscriber.received.records)
    rig.wait_for(
        lambda: len(subscriber.received.records) > before + 50, 10, "records after a bad reload"
    )
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0
    assert "reload refused, keeping the running config" in agent.log()
    assert "reloaded: 2 channels" in agent.log()


def test_check_reports_tls_files_that_do_not_load(
    rig: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    path = rig.configure(
        [ticker("det")], url="mqtts://127.0.0.1:1", mqtt_extra={"ca_file": str(ca)}
    )
    assert main(["check", "--config", str(path)]) == 1
    assert "TLS files do not load" in capsys.readouterr().out


def test_check_names_a_listener_that_hangs_up_before_connack(
    rig: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        hang_up = threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True)
        hang_up.start()
        path = rig.configure([ticker("det")], url=f"mqtt://127.0.0.1:{port}")
        assert main(["check", "--config", str(path), "--timeout", "5"]) == 1
        hang_up.join(5)
    assert "the broker closed the connection before answering CONNECT" in capsys.readouterr().out
