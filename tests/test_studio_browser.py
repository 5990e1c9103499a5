"""The studio in a real browser: headless Chromium (Debian's, driven by Playwright's Python client)
opens the studio served by uvicorn, looks at a finished render, writes a recipe in the editor,
previews it, watches frames arrive, stops a render and resumes it. It also makes the README's
screenshots, so they show what the code does today.
"""

import os
import socket
import statistics
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ZOOMDREAM_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI's .ci/run does) to run the browser tests",
                allow_module_level=True)  # fmt: skip
pytest.importorskip("playwright", reason="playwright's Python client is not installed: pip install -e '.[test]'")
pytest.importorskip("uvicorn", reason="the studio extra is not installed: pip install -e '.[studio]'")
import httpx  # noqa: E402
import uvicorn  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from zoomdream.frontends.studio import build, jobs  # noqa: E402
from zoomdream.run.events import Frames  # noqa: E402

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parent.parent / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
RECIPE = """name: {name}
size: [{w}, {h}]
frames: {frames}
fps: 12
model: {{name: efficientnet_lite0}}
dream: {{steps: 1, octaves: 1}}
motion: {{zoom: 1.04, rotate: 0.5}}
"""
LONG = 40  # frames of the render that is watched, stopped and resumed
PACE = 0.15  # seconds each frame of a LONG render is held, so a fast machine cannot finish it before the stop lands


def recipe(name, frames, w=64, h=48):
    return RECIPE.format(name=name, frames=frames, w=w, h=h)


def paced(render):
    """``render`` with one more subscriber: it holds each frame of a LONG render for PACE seconds."""

    def hold(event):
        if isinstance(event, Frames) and event.total == LONG:
            time.sleep(PACE * event.count)

    def paced_render(config, *, events=None, **options):
        subscribers = [] if events is None else [events] if callable(events) else list(events)
        return render(config, events=[*subscribers, hold], **options)

    return paced_render


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The studio on 127.0.0.1 at a free port, uvicorn in a thread, with one finished render;
    its LONG renders are paced, so the tests' stops land mid-render however fast the machine."""
    patch = pytest.MonkeyPatch()
    patch.setattr(jobs, "render", paced(jobs.render))
    renders = tmp_path_factory.mktemp("browser") / "renders"
    app, token = build(renders)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    api = httpx.Client(base_url=url, headers={"X-Zoomdream-Token": token}, timeout=30)
    assert api.post("/api/renders", content=recipe("showcase", 12, 160, 96)).status_code == 202
    end = time.time() + 300
    while api.get("/api/renders/showcase").json()["state"] != "finished" and time.time() < end:
        time.sleep(0.2)
    yield url, api
    app.state.studio.closing = True
    server.should_exit = True
    thread.join(60)
    patch.undo()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def pages(browser):
    """Opens pages (each its own browser context, like a fresh tab); fails on any script error."""
    contexts, errors = [], []

    def open_page():
        contexts.append(browser.new_context(viewport={"width": 1360, "height": 900}, device_scale_factor=1))
        page = contexts[-1].new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


@pytest.fixture
def page(pages):
    return pages()


def latencies(page):
    return page.evaluate("window.zdLatency")


def test_a_finished_render_shows_its_video_and_verdicts(studio, page):
    url, _ = studio
    page.goto(url + "/")
    card = page.locator('.card[data-id="showcase"]')
    expect(card).to_have_attribute("data-state", "finished")
    expect(card.locator(".meta").first).to_contain_text("160×96")
    card.click()
    video = page.locator("video")
    expect(video).to_have_count(1)
    assert "/files/showcase/showcase.mp4" in video.get_attribute("src")
    page.wait_for_function("() => document.querySelector('video').readyState >= 2", timeout=20000)  # Chromium decodes it
    assert page.evaluate("document.querySelector('video').videoWidth") == 160
    verdicts = page.locator("table.verdicts tr")
    expect(verdicts).to_have_count(7)
    expect(page.locator("table.verdicts")).to_contain_text("boil")
    expect(page.locator(".lane-curves .curve")).to_have_count(6)
    expect(page.locator("img.sheet")).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.sheet').complete && document.querySelector('img.sheet').naturalWidth > 0")
    DOCS.mkdir(exist_ok=True)
    page.evaluate("document.querySelector('video').pause(); document.querySelector('video').currentTime = 0.9")
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "studio-render.png"), full_page=True)


def test_editor_checks_as_you_type_and_previews_live(studio, page):
    url, api = studio
    page.goto(url + "/#/editor")
    area = page.locator("#recipe")
    area.fill("")
    area.press_sequentially(recipe("typed", 24).replace("motion: {zoom: 1.04", "motion: {zom: 1.04"))
    bubble = page.locator("#key-error")
    expect(bubble).to_be_visible()
    expect(bubble).to_have_text("motion.zom: unknown key; did you mean 'zoom'?")
    assert bubble.get_attribute("data-key") == "motion.zom" and bubble.get_attribute("data-line") == "7"
    expect(page.locator("#gutter .err")).to_have_text("7")
    mark_top = page.locator("#mark").bounding_box()["y"]
    assert abs(bubble.bounding_box()["y"] - mark_top - 24) < 6  # the message sits right under the key's line
    area.fill(area.input_value().replace("zom:", "zoom:"))
    expect(page.locator("#check")).to_contain_text("ok — 24 frames at 64x48")
    expect(bubble).to_be_hidden()
    area.click()
    page.keyboard.press("Control+Home")
    for _ in range(6):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#help")).to_contain_text("motion.rotate")
    page.locator("#do-preview").click()
    live = page.locator("#live .live")
    expect(live).to_have_attribute("data-id", "typed/preview")
    page.wait_for_function("() => new Set(window.zdFrames).size >= 2", timeout=120000)  # the live frame changed
    expect(live).to_have_attribute("data-state", "finished", timeout=120000)
    frames = page.evaluate("window.zdFrames")
    assert frames == sorted(frames) and frames[-1] == 23
    assert api.get("/api/renders/typed/preview").json()["state"] == "finished"
    print(f"\npreview: {len(frames)} frames shown live; latency {summary(latencies(page))}")


def test_stop_a_render_and_resume_it(studio, page, pages):
    url, api = studio
    page.goto(url + "/#/editor")
    area = page.locator("#recipe")
    area.fill(recipe("long", LONG, 96, 64).replace("steps: 1", "steps: 2"))
    expect(page.locator("#check")).to_contain_text(f"ok — {LONG} frames")
    page.locator("#do-render").click()
    live = page.locator("#live .live")
    expect(live).to_have_attribute("data-id", "long")
    page.wait_for_function("() => window.zdFrames.length >= 6", timeout=120000)
    area.press("Control+End")
    area.press_sequentially("colour: {mode: lab}\n")  # the next version, checked while this one renders
    expect(page.locator("#key-error")).to_contain_text("colour: unknown key; did you mean 'color'?")
    for key in ["ArrowUp", "ArrowUp", "Home"] + ["ArrowRight"] * 11:
        area.press(key)
    expect(page.locator("#help")).to_contain_text("motion.zoom")
    page.screenshot(path=str(DOCS / "studio-editor.png"))
    shown, seen = latencies(page), max(page.evaluate("window.zdFrames"))
    page.goto("about:blank")  # the tab is closed: the render goes on in the studio
    page = pages()
    page.goto(f"{url}/#/render/long")
    expect(page.locator("#state")).to_have_text("rendering")
    page.wait_for_function(f"() => window.zdFrames.length && Math.max(...window.zdFrames) > {seen + 1}", timeout=60000)
    page.locator("#stop").click()
    expect(page.locator("#state")).to_have_text("interrupted", timeout=60000)
    done = api.get("/api/renders/long").json()["done"]
    assert 0 < done < LONG
    expect(page.locator("video")).to_have_count(1)  # the video so far is kept, and plays
    page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=20000)
    page.locator("#resume").click()
    expect(page.locator("#live .live")).to_be_visible()
    expect(page.locator("#state")).to_have_text("finished", timeout=180000)
    assert api.get("/api/renders/long").json()["done"] == LONG
    expect(page.locator("table.verdicts tr")).to_have_count(7)
    shown += latencies(page)
    print(f"\nlive view latency (server's Frames event to the frame painted), {len(shown)} frames: {summary(shown)}")
    assert statistics.median(shown) < 1.0


def test_renders_page_lists_every_render_with_its_state(studio, page):
    url, api = studio
    assert api.post("/api/renders", content=recipe("zooming", LONG, 96, 64)).status_code == 202
    page.goto(url + "/")
    for rid, state in [("showcase", "finished"), ("long", "finished"), ("typed/preview", "finished")]:
        expect(page.locator(f'.card[data-id="{rid}"]')).to_have_attribute("data-state", state)
    running = page.locator('.card[data-id="zooming"]')
    expect(running).to_have_attribute("data-state", "rendering", timeout=60000)
    expect(running.locator(".state-text")).to_contain_text("ETA", timeout=60000)
    page.wait_for_function("() => [...document.querySelectorAll('.card img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(DOCS / "studio-renders.png"))
    assert api.post("/api/renders/zooming/stop").status_code == 200
    expect(running).to_have_attribute("data-state", "interrupted", timeout=60000)
    expect(running.locator(".state-text")).to_contain_text("stopped at ")
    expect(running.locator(".state-text")).to_contain_text(f"of {LONG} frames")
    page.locator('.card[data-id="showcase"] .pick').check()
    page.locator('.card[data-id="long"] .pick').check()
    page.locator("#compare").click()
    expect(page.locator(".compare video")).to_have_count(2)
    expect(page.locator(".compare table.verdicts")).to_have_count(2)
    page.locator('nav a[data-nav="api"]').click()
    expect(page.locator("main h1")).to_contain_text("HTTP API", timeout=30000)  # the API is described on first call
    expect(page.locator("main table")).to_contain_text("/api/renders/{rid}/stop")


def summary(seconds):
    if not seconds:
        return "no frames"
    ms = sorted(1000 * s for s in seconds)
    return f"median {statistics.median(ms):.0f} ms, 90th percentile {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms"
