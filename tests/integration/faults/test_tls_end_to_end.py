"""TLS end to end: a test CA (trustme), Mosquitto with a TLS listener that requires a client
certificate, the rig agent and central over ``mqtts://``. Records flow; a wrong CA, an expired
and a missing client certificate each fail with one line saying what to change, from
``rig-agent check``, the running daemon's log and central's ``/health``."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from central.config import CentralSettings
from central.db.models import DetectionEvent
from central.ingest.client import MqttClient
from central.ingest.tls import tls_context
from tests.integration.central.ingest.conftest import CentralProcess
from tests.integration.rig_agent.conftest import MOSQUITTO, PrivateMosquitto, RigHarness, wait_for

trustme = pytest.importorskip("trustme")

pytestmark = [pytest.mark.network, pytest.mark.slow]

TLS_MOSQUITTO = (
    "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
    "cafile {dir}/ca.pem\ncertfile {dir}/server.crt\nkeyfile {dir}/server.key\n"
    "require_certificate true\n"
)

WRONG_CA = "TLS: the broker's certificate is not signed by the configured CA"
EXPIRED = "TLS: the broker refused the client certificate: it has expired"
MISSING = "TLS: the broker requires a client certificate and none was configured"


class Certificates:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        ca, other = trustme.CA(), trustme.CA()
        ca.cert_pem.write_to_path(str(directory / "ca.pem"))
        other.cert_pem.write_to_path(str(directory / "other-ca.pem"))
        self._pair(ca.issue_cert("127.0.0.1"), "server")
        self._pair(ca.issue_cert("rig-tls"), "client")
        past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        self._pair(ca.issue_cert("rig-tls", not_after=past), "expired")

    def _pair(self, cert: Any, name: str) -> None:
        cert.cert_chain_pems[0].write_to_path(str(self.directory / f"{name}.crt"))
        cert.private_key_pem.write_to_path(str(self.directory / f"{name}.key"))

    def files(self, ca: str = "ca", client: str | None = "client") -> dict[str, str]:
        files = {"ca_file": str(self.directory / f"{ca}.pem")}
        if client is not None:
            files["cert_file"] = str(self.directory / f"{client}.crt")
            files["key_file"] = str(self.directory / f"{client}.key")
        return files


CASES = [("other-ca", "client", WRONG_CA), ("ca", "expired", EXPIRED), ("ca", None, MISSING)]


def _check(rig: RigHarness) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "rig_agent",
            "check",
            "--config",
            str(rig.config_path),
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def _central_broker_state(url: str, files: dict[str, str]) -> str:
    """What central's ingest client says of the broker (``/health`` shows this) once an attempt
    failed on TLS. Not necessarily the first: a broker refusing the client certificate after a
    TLS 1.3 handshake may reset the connection before its alert is read, and central retries."""
    context = tls_context(
        Path(files["ca_file"]),
        Path(files["cert_file"]) if "cert_file" in files else None,
        Path(files["key_file"]) if "key_file" in files else None,
    )
    client = MqttClient(url, "central-tls-probe", protocol="3.1.1", ssl_context=context)
    await client.start()
    try:
        deadline = time.monotonic() + 20
        while "TLS:" not in (client.last_error or "") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return client.describe()
    finally:
        await client.close()


def test_records_flow_over_mutual_tls_and_each_bad_certificate_says_what_is_wrong(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, topic_prefix: str
) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto binary not installed")
    request.getfixturevalue("central_env")
    broker_dir = tmp_path / "broker"
    certificates = Certificates(broker_dir)
    broker = PrivateMosquitto(broker_dir, TLS_MOSQUITTO)
    broker.start()
    url = f"mqtts://127.0.0.1:{broker.port}"
    rig = RigHarness(tmp_path, "127.0.0.1", broker.port, topic_prefix, private_broker=True)
    centrals: list[CentralProcess] = []

    def central(ca: str, client: str | None) -> CentralProcess:
        files = certificates.files(ca, client)
        settings = CentralSettings(
            database_url=database_url,
            data_dir=tmp_path / "data",
            mqtt_url=url,
            topic_prefix=topic_prefix,
            mqtt_ca_file=files["ca_file"],
            mqtt_cert_file=files.get("cert_file"),
            mqtt_key_file=files.get("key_file"),
        )
        centrals.append(CentralProcess(settings, tmp_path / f"central-{len(centrals)}.log"))
        return centrals[-1]

    try:
        for ca, client, expected in CASES:
            rig.configure(  # a channel quiet for the hour: these runs only connect
                [{"name": "det", "source": "simulated", "rate_hz": 10, "start_delay_ms": 3.6e6}],
                url=url,
                mqtt_extra=certificates.files(ca, client),
            )
            result = _check(rig)
            assert result.returncode == 1
            (line,) = [line for line in result.stdout.splitlines() if "FAIL" in line]
            assert line.startswith(f"  FAIL broker {url}: {expected}"), result.stdout

            # The daemon itself logs the same words, once, while it keeps retrying.
            daemon = rig.agent()
            wait_for(lambda d=daemon, e=expected: e in d.log(), 15, f"the daemon saying {expected!r}")
            daemon.stop()
            assert daemon.log().count(expected) == 1, daemon.log()

            assert expected in asyncio.run(
                _central_broker_state(url, certificates.files(ca, client))
            )

        # The same line reaches /health of a running central.
        bad = central("ca", None)
        bad.start(ready=lambda broker: MISSING in broker)
        assert bad.health()["status"] == "degraded"
        bad.kill()

        total = 300
        rig.configure(
            [{"name": "det", "source": "simulated", "rate_hz": 1_000, "count": total}],
            url=url,
            mqtt_extra=certificates.files(),
        )
        assert _check(rig).returncode == 0, _check(rig).stdout
        good = central("ca", "client")
        good.start()
        rig.agent()
        engine = create_engine(database_url)

        def stored() -> list[int]:
            with engine.connect() as connection:
                query = select(DetectionEvent.seq).where(DetectionEvent.rig_id == rig.rig_id)
                return sorted(connection.scalars(query))

        wait_for(lambda: len(stored()) >= total, 20, "every record over TLS")
        assert stored() == list(range(total))
        engine.dispose()
    finally:
        rig.close()
        for process in centrals:
            process.kill()
        broker.stop()
