"""The page central serves, used as a test engineer would: log in, watch the rig come online and
a session run to its end, read the verdict, click a miss and see the player seek to it."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from rich.console import Console

from central.demo.api import DemoApi
from central.demo.run import DEMO_RIG_ID, DemoOutcome, run_scenario
from central.demo.scenario import DEFAULT_SCENARIO
from central.demo.synthetic_video import write_synthetic_video
from tests.browser.conftest import PHONE, Central, screenshot, set_viewport

pytestmark = [pytest.mark.browser, pytest.mark.network, pytest.mark.slow]

IDLE_S = 6.0


def wait(what: str, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - the element may not exist yet, or be replaced
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def text_of(driver: Any, selector: str) -> str:
    return str(css(driver, selector).text).strip()


def console_errors(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


class ScenarioThread(threading.Thread):
    """The demo's scenario (rig-agent process included) run against the live central."""

    def __init__(self, central: Central) -> None:
        super().__init__(name="demo-scenario")
        self.central = central
        self.outcome: DemoOutcome | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        api = DemoApi(self.central.url, self.central.token)
        console = Console(file=io.StringIO())
        try:
            self.outcome = asyncio.run(
                run_scenario(
                    api, self.central.settings, self.central.mqtt_url, console, DEFAULT_SCENARIO
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def log_in(driver: Any, central: Central) -> None:
    dialog = wait("the login dialog", lambda: css(driver, "dialog#login[open]"))
    field = dialog.find_element("css selector", "input")
    field.send_keys(central.token)
    field.submit()
    wait("the dialog to close", lambda: not css(driver, "dialog#login").get_attribute("open"))
    wait("the live connection", lambda: css(driver, "#live").get_attribute("data-state") == "live")


def open_page(driver: Any, central: Central, path: str) -> None:
    """Open ``path``, logging in first when this tab holds no token yet."""
    driver.get(central.url + path)
    state = wait(
        "the login dialog or the live connection",
        lambda: driver.execute_script(
            "return document.querySelector('dialog#login[open]') ? 'login'"
            " : document.getElementById('live').dataset.state === 'live' && 'live'"
        ),
    )
    if state == "login":
        log_in(driver, central)


def test_a_session_watched_live_then_reviewed(
    central: Central, driver: Any, screenshots: Path
) -> None:
    driver.get(central.url + "/")
    log_in(driver, central)
    scenario = ScenarioThread(central)
    scenario.start()
    try:
        wait(
            "the rig to show online",
            lambda: css(driver, f'[data-rig="{DEMO_RIG_ID}"][data-state="online"]'),
        )
        # The cards are redrawn on every rig_status: read them in one go, inside the page.
        channels = wait(
            "its channels",
            lambda: driver.execute_script(
                "return [...document.querySelectorAll('[data-channel]')]"
                ".map((row) => row.dataset.channel).sort()"
            ),
        )
        assert channels == ["detections", "video-sync"]
        screenshot(driver, screenshots / "rigs.png")

        css(driver, 'a[data-nav="sessions"]').click()
        link = wait(
            "the running session in the list",
            lambda: css(driver, 'tr[data-status="running"] a'),
        )
        screenshot(driver, screenshots / "sessions.png")
        link.click()
        live_tp = wait(
            "live true positives",
            lambda: int(text_of(driver, '[data-metric="truePositives"] .stat-value') or 0),
        )
        assert live_tp >= 1
        assert css(driver, "svg.histogram")
        screenshot(driver, screenshots / "session-live.png")
        wait("the verdict", lambda: css(driver, ".verdict"), timeout=45)
    finally:
        scenario.join(timeout=60)
    assert scenario.error is None, scenario.error
    assert scenario.outcome is not None and scenario.outcome.status == "completed"
    session_id = scenario.outcome.session_id

    headers = {"Authorization": f"Bearer {central.token}"}
    with httpx.Client(base_url=central.url, headers=headers) as http:
        detail = http.get(f"/api/test-sessions/{session_id}/detailed-results").json()
        rows = http.get(f"/api/test-sessions/{session_id}/detection-comparison").json()
        session = http.get(f"/api/test-sessions/{session_id}").json()
        annotations = http.get(f"/api/videos/{session['videoId']}/annotations").json()
    results = detail["results"]
    for key in ("truePositives", "falsePositives", "falseNegatives", "repeats"):
        assert text_of(driver, f'[data-metric="{key}"] .stat-value') == str(results[key]), key
    assert text_of(driver, '[data-metric="accuracy"] .stat-value') == f"{results['accuracy']:.3f}"
    assert text_of(driver, '[data-metric="p95Ms"] .stat-value') == (
        f"{results['latency']['p95Ms']:.1f} ms"
    )
    assert ("PASS" if results["passed"] else "FAIL") in text_of(driver, ".verdict h2")

    # The player plays the demo's VP9 clip: a decoded picture of the scenario's size.
    wait(
        "the video to decode",
        lambda: (
            driver.execute_script(
                "const v = document.querySelector('.player video');"
                "return v && v.readyState >= 2 && [v.videoWidth, v.videoHeight];"
            )
            == [DEFAULT_SCENARIO.width, DEFAULT_SCENARIO.height]
        ),
    )
    (miss,) = [r for r in rows if r["matchType"] == "FN"]
    miss_frame = next(a["frameNumber"] for a in annotations if a["id"] == miss["groundTruthId"])
    css(driver, '.issue[data-match="FN"]').click()
    fps = DEFAULT_SCENARIO.fps

    def shown_frame() -> tuple[int, int]:
        readout = int(css(driver, ".frame-readout").get_attribute("data-frame"))
        current = driver.execute_script(
            "return document.querySelector('.player video').currentTime"
        )
        return readout, int(current * fps)

    wait("the player at the miss", lambda: shown_frame() == (miss_frame, miss_frame))
    screenshot(driver, screenshots / "session-review.png")

    # Keyboard: a false alarm's button activated with Enter seeks too.
    from selenium.webdriver.common.keys import Keys

    false_alarm = css(driver, '.issue[data-match="FP"]')
    fp_frame = int(false_alarm.get_attribute("data-frame"))
    false_alarm.send_keys(Keys.ENTER)
    wait("the player at the false alarm", lambda: shown_frame() == (fp_frame, fp_frame))

    css(driver, 'a[data-nav="videos"]').click()
    wait("the video list", lambda: css(driver, "tr[data-video] a")).click()
    tracks = wait("the tracks", lambda: driver.find_elements("css selector", "tr[data-track]"))
    assert len(tracks) == len(DEFAULT_SCENARIO.tracks)
    first = DEFAULT_SCENARIO.tracks[0]
    css(driver, f'tr[data-track="{first.detection_id}"] button').click()
    wait("the first frame of the track", lambda: shown_frame() == (first.first_frame,) * 2)
    screenshot(driver, screenshots / "ground-truth.png")

    # The scenario stopped its rig: the card turns offline without a reload.
    css(driver, 'a[data-nav="rigs"]').click()
    wait(
        "the rig to show offline",
        lambda: css(driver, f'[data-rig="{DEMO_RIG_ID}"][data-state="offline"]'),
    )

    assert console_errors(driver) == []


def test_an_idle_page_sends_at_most_one_request_a_second(central: Central, driver: Any) -> None:
    for path in ("/ui/rigs", "/ui/sessions"):
        open_page(driver, central, path)
        time.sleep(1.0)
        before = driver.execute_script(
            "performance.setResourceTimingBufferSize(100000);"
            "return performance.getEntriesByType('resource').length"
        )
        time.sleep(IDLE_S)
        after = driver.execute_script("return performance.getEntriesByType('resource').length")
        assert after - before <= IDLE_S, f"{path}: {after - before} requests in {IDLE_S} s idle"


def test_a_phone_sized_screen_shows_each_view_without_sideways_scrolling(
    central: Central, driver: Any, screenshots: Path
) -> None:
    headers = {"Authorization": f"Bearer {central.token}"}
    with httpx.Client(base_url=central.url, headers=headers) as http:
        sessions = http.get("/api/test-sessions").json()
    views = [("rigs", "/ui/rigs"), ("sessions", "/ui/sessions")]
    for session in sessions[:1]:  # the one the first test ran, when it ran
        views.append(("session-review", f"/ui/sessions/{session['id']}"))
        views.append(("ground-truth", f"/ui/videos/{session['videoId']}"))
    set_viewport(driver, *PHONE)
    try:
        for name, path in views:
            open_page(driver, central, path)
            wait(f"the {name} view", lambda: css(driver, "main h1"))
            time.sleep(1.5)
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{name}: {overflow} px wider than the screen"
            screenshot(driver, screenshots / f"phone-{name}.png")
    finally:
        set_viewport(driver, 1280, 720)


def test_a_video_the_browser_cannot_play_is_said_so(
    central: Central, driver: Any, tmp_path: Path, screenshots: Path
) -> None:
    clip = write_synthetic_video(tmp_path / "old.mp4", frame_count=10, codec="mpeg4")
    headers = {"Authorization": f"Bearer {central.token}"}
    with httpx.Client(base_url=central.url, headers=headers) as http, clip.open("rb") as file:
        video = http.post("/api/videos", files={"file": ("old.mp4", file, "video/mp4")}).json()
    open_page(driver, central, f"/ui/videos/{video['id']}")
    notice = wait("the notice", lambda: css(driver, ".unplayable"), timeout=20)
    assert "cannot play this video" in notice.text and "mpeg4" in notice.text
    screenshot(driver, screenshots / "unplayable.png")


def test_a_rig_whose_heartbeat_stops_turns_offline_on_an_idle_page(
    central: Central, driver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from protocol import RigStatus, Topics, encode

    monkeypatch.setattr("central.api.routes.ui.RIG_STALE_AFTER_S", 2.0)
    open_page(driver, central, "/ui/rigs")
    broker = urlsplit(central.mqtt_url)
    rig = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    rig.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    rig.loop_start()
    try:
        status = encode(RigStatus(rig_id="quiet-rig", state="online", version="1"))
        topic = Topics(central.settings.topic_prefix).status("quiet-rig")
        rig.publish(topic, status, qos=1).wait_for_publish(5)
    finally:
        rig.loop_stop()
        rig.disconnect()
    wait("the rig online", lambda: css(driver, '[data-rig="quiet-rig"][data-state="online"]'))
    wait(
        "the rig offline for want of a heartbeat",
        lambda: css(driver, '[data-rig="quiet-rig"][data-state="stale"]'),
        timeout=10,
    )
    assert "no heartbeat" in text_of(driver, '[data-rig="quiet-rig"] .badge')
