"""The studio page in a real browser: headless Debian Chromium driven by Selenium (chromedriver),
against a real `dawgen serve` on the embedded synth. `make test` installs chromium + chromium-driver."""
from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request

import pytest

from tests.waiting import wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium + chromium-driver not installed (make test installs them)"),
]
webdriver = pytest.importorskip("selenium.webdriver")

# No traffic leaves the machine: every host name but 127.0.0.1 fails to resolve, no background services.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                  "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--window-size=1400,1000"]


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dawgen-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def api(daemon, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(daemon.web_url + path.lstrip("/"), method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def fill_and_generate(driver, values: dict[str, str]) -> str:
    driver.find_element("css selector", 'nav a[data-view="generate"]').click()
    form = driver.find_element("id", "generate-form")
    for name, value in values.items():
        field = form.find_element("css selector", f'[name="{name}"]')
        field.clear()
        field.send_keys(value)
    form.find_element("css selector", 'button[type="submit"]').click()
    message = wait_until(lambda: (lambda t: t if t.startswith("queued job") else None)(
        driver.find_element("id", "message").text), timeout=60, what="the submit's answer")
    return message.split()[2]


def progress_of(driver, job_id: str) -> float | None:
    return js(driver, "const p = document.querySelector(`tr[data-job='${arguments[0]}'] progress`);"
                      "return p ? p.value : null;", job_id)


def test_generate_watch_progress_cancel_and_play_from_the_library(daemon_factory, browser):
    daemon = daemon_factory().start(timeout=30)
    assert daemon.web_url.startswith("http://127.0.0.1:")
    browser.get(daemon.web_url)
    wait_until(lambda: js(browser, "return document.body.dataset.ready === '1'"), timeout=20, what="the page to load")
    assert js(browser, "return document.getElementById('generate-model').value") == "synth"

    # a long job from the form: its bar moves in the queue, fed by the event stream
    slow = fill_and_generate(browser, {"prompt": "drum loop", "bars": "40", "bpm": "60", "count": "64"})
    browser.find_element("css selector", 'nav a[data-view="queue"]').click()
    first = wait_until(lambda: (lambda v: v if v and v > 0 else None)(progress_of(browser, slow)), timeout=60,
                       what="the progress bar to move")
    wait_until(lambda: (progress_of(browser, slow) or 0) > first, timeout=60, what="the progress bar to move on")

    # a queued job behind it, cancelled with its button in the queue. The waits are generous: on 2
    # cores the synth's 64 long loops, the daemon and Chromium share the CPU (one CI run in six took
    # over 15 s for the row to show); a row that never shows still fails.
    queued = api(daemon, "POST", "/api/jobs", {"verb": "generate", "params": {"prompt": "queued hat"}})["job_id"]
    button = wait_until(lambda: browser.find_elements("css selector", f"tr[data-job='{queued}'] button.cancel"),
                        timeout=60, what="the queued job's row")
    button[0].click()
    wait_until(lambda: not browser.find_elements("css selector", f"tr[data-job='{queued}']"), timeout=60,
               what="the cancelled row to go")
    assert api(daemon, "GET", f"/api/jobs/{queued}")["state"] == "cancelled"
    browser.find_element("css selector", f"tr[data-job='{slow}'] button.cancel").click()
    wait_until(lambda: api(daemon, "GET", f"/api/jobs/{slow}")["state"] == "cancelled", timeout=60,
               what="the running job to be cancelled")

    # a short one: it appears in the library with its waveform, and plays
    # a fixed seed: a few kicks decay under the trim threshold before 0.8 s (seeds 0 and 11 of 40 end at 0.75 s)
    quick = fill_and_generate(browser, {"prompt": "punchy kick", "seconds": "0.8", "bars": "", "bpm": "", "count": "1",
                                        "seed": "3"})
    path = wait_until(lambda: (lambda j: j["paths"] if j["state"] == "done" else None)(
        api(daemon, "GET", f"/api/jobs/{quick}")), timeout=60, what="the short job")[0]
    name = path.rsplit("/", 1)[1]
    browser.find_element("css selector", 'nav a[data-view="library"]').click()
    card = f"#library .card[data-name='{name}']"
    wait_until(lambda: js(browser, f"const i = document.querySelector(\"{card} img.waveform\");"
                                   "return i && i.complete && i.naturalWidth > 0;"), timeout=30, what="the waveform")
    link = browser.find_element("css selector", f"{card} a.name")
    assert link.get_attribute("draggable") == "true"
    duration = wait_until(lambda: js(browser, f"const a = document.querySelector(\"{card} audio\");"
                                              "return a && a.readyState >= 1 ? a.duration : null;"), timeout=30,
                          what="the audio's metadata")
    assert duration == pytest.approx(0.8, abs=0.05)
    played = browser.execute_async_script(
        f"const done = arguments[0]; document.querySelector(\"{card} audio\").play()"
        ".then(() => done('playing'), (e) => done(e.name));")
    assert played == "playing"
    history = json.loads(js(browser, "return localStorage.getItem('dawgen.prompts')"))
    assert history[:2] == ["punchy kick", "drum loop"]


def test_a_finished_training_run_shows_its_loss_plot_and_demos_per_checkpoint(daemon_factory, browser, tmp_path):
    from tests.server.training.midi_files import song_folder

    pytest.importorskip("torch")
    pytest.importorskip("mido")
    daemon = daemon_factory().start(timeout=30)
    data = song_folder(tmp_path / "my midi")  # the midi kinds train in seconds on a CPU
    job = api(daemon, "POST", "/api/jobs", {"verb": "train", "params": {
        "kind": "midi-drums", "data": str(data), "name": "beats", "steps": 4, "save_every": 2, "batch_size": 2,
        "demo_count": 2, "seed": 1}})["job_id"]
    state = wait_until(lambda: (lambda j: j if j["state"] in ("done", "failed", "cancelled") else None)(
        api(daemon, "GET", f"/api/jobs/{job}")), timeout=180, what="the training run")
    assert state["state"] == "done", state["error"]

    browser.get(daemon.web_url + "#training")
    wait_until(lambda: js(browser, "return document.body.dataset.ready === '1'"), timeout=20, what="the page to load")
    run = "#runs .run[data-run='beats']"
    points = wait_until(lambda: js(browser, f"const r = document.querySelector(\"{run}\"); return r && Number(r.dataset.points);"),
                        timeout=20, what="the run's loss plot")
    assert points == 4
    drawn = js(browser, f"const c = document.querySelector(\"{run} canvas.loss\");"
                        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                        "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;")
    assert drawn > 100  # a line was drawn, not an empty canvas
    steps = wait_until(lambda: js(browser, f"return [...document.querySelectorAll(\"{run} .demo-step\")].map(s => s.dataset.step);"),
                       timeout=20, what="the demo columns")
    assert steps == ["0", "2", "4"]  # the base model's demos, then each checkpoint's, side by side
    links = js(browser, f"return [...document.querySelectorAll(\"{run} .demo-step a\")].map(a => a.getAttribute('href'));")
    assert len(links) == 6 and all(link.startswith("/files/dawgen/training/beats/step-") for link in links)
    with urllib.request.urlopen(daemon.web_url + links[-1].lstrip("/"), timeout=10) as reply:
        assert reply.read(4) == b"MThd"
    assert js(browser, f"return document.querySelector(\"{run} button.resume\").disabled") is False
