"""The browser lane (issue #11): headless Chromium, driven by Selenium, against a live central.

Run by ``tests/browser/run``, which installs Debian's ``chromium`` and ``chromium-driver`` and
``selenium`` when missing and sets ``VRU_BROWSER_TESTS=1``; the main ``pytest`` run skips these
tests. Central runs in this process under uvicorn with MQTT ingest on its embedded broker and
SQLite, as ``rig-central demo`` runs it, and the scenario is the demo's own
(:func:`central.demo.run.run_scenario`, a real rig-agent process included), started while the
page is open. Screenshots go to ``test-artifacts/screenshots/`` (``VRU_SCREENSHOTS`` overrides).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from central.app import create_app
from central.config import CentralSettings
from central.demo.run import admin_token
from central.ingest.broker import free_port
from tests.integration.central.conftest import serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP = (1280, 720)
PHONE = (390, 844)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("VRU_BROWSER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="browser lane: run tests/browser/run (VRU_BROWSER_TESTS=1)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@dataclass
class Central:
    url: str
    token: str
    settings: CentralSettings
    app: Any
    loop: asyncio.AbstractEventLoop

    @property
    def mqtt_url(self) -> str:
        return str(self.app.state.mqtt_url)


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """Central with auth on, ingest on its embedded broker and SQLite, on a free port."""
    for key in [k for k in os.environ if k.startswith("CENTRAL_")]:
        os.environ.pop(key)
    port = free_port("127.0.0.1")
    settings = CentralSettings(
        host="127.0.0.1", port=port, data_dir=tmp_path_factory.mktemp("central"), no_auth=False
    )
    token = admin_token(settings)
    app = create_app(settings)
    with serving(app, port) as loop:
        yield Central(f"http://127.0.0.1:{port}", token, settings, app, loop)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """Headless Chromium with a fresh profile; its console log is kept for the tests to read."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("no chromium and chromedriver on PATH (Debian: chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="vru-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(chromedriver))
    browser.set_script_timeout(20)
    set_viewport(browser, *DESKTOP)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def set_viewport(browser: Any, width: int, height: int) -> None:
    """The page's own viewport, exactly (a headless window's size includes no browser UI)."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
    )


@pytest.fixture(scope="session")
def screenshots() -> Path:
    directory = Path(os.environ.get("VRU_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(browser: Any, path: Path) -> Path:
    """The whole page, not only the viewport."""
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
