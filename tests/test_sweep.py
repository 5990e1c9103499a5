"""zoomdream sweep: cells from grids and recipes, validated before anything renders; the same frames
under the local and the Ray engine as single renders; a killed Ray worker, a killed sweep and a
Ctrl-C all resume to identical frames; the page opens in a real browser."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from zoomdream.api import render
from zoomdream.engine.renderer import Renderer
from zoomdream.frontends.sweep import SweepError, parse_grid, plan, run
from zoomdream.frontends.sweep import page
from zoomdream.frontends.sweep.engines import start_local
from zoomdream.io.ffmpeg import decode_video
from zoomdream.run import events
from zoomdream.run.folder import RenderFolder

TINY = """name: tiny
size: [64, 48]
frames: 3
fps: 12
model: {{name: efficientnet_lite0}}
dream: {{steps: 1, octaves: 1}}
output: {{dir: {out}, frames: {{bit_depth: 8}}}}
"""
GRID = {"motion.zoom": [1.01, 1.05], "dream.steps": [1, 2]}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def stop_at(monkeypatch, frame):
    """A real SIGINT to this process while frame ``frame`` is dreamed (in whichever thread renders)."""
    original = Renderer._dreamed

    def step(self, x, t):
        if t == frame:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, x, t)

    monkeypatch.setattr(Renderer, "_dreamed", step)


def tiny(folder: Path, extra: str = "", name: str = "tiny.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(TINY.format(out=folder / "out") + extra)
    return path


def frames_of(folder: Path) -> list[np.ndarray]:
    return [iio.imread(p) for p in sorted(Path(folder, "frames").glob("*.png"))]


def same_frames(a: Path, b: Path, exact_video: bool = True) -> bool:
    """Equal PNG frames, and videos of as many frames, equal when decoded if ``exact_video``: a
    render stopped between checkpoints joins its video from one more segment (the same frames,
    encoded in other groups), so only its frames are bit-identical to an uninterrupted render."""
    one, two = frames_of(a), frames_of(b)
    if not one or len(one) != len(two) or not all(np.array_equal(x, y) for x, y in zip(one, two)):
        return False
    decoded = [list(decode_video(sorted(Path(f).glob("*.mp4"))[0])) for f in (a, b)]
    if not len(decoded[0]) == len(decoded[1]) == len(one):
        return False
    return not exact_video or all(np.array_equal(x, y) for x, y in zip(*decoded))


def single(recipe: Path, cell, folder: Path) -> Path:
    """`zoomdream render RECIPE --set ...` of a cell's values, into ``folder``."""
    values = {key.replace(".", "__"): value for key, value in cell.sets}
    return render(recipe, output__dir=str(folder), **values).folder


# -- cells: fast, nothing renders ------------------------------------------------------------


def test_grid_values_are_read_as_yaml_like_set():
    grid = parse_grid(["motion.zoom=1.01,1.03", "size=[64, 48],[96, 72]", "color.mode='mean_std',none", "seed=1"])
    assert grid == {"motion.zoom": [1.01, 1.03], "size": [[64, 48], [96, 72]], "color.mode": ["mean_std", "none"], "seed": [1]}
    assert parse_grid(['motion.zoom="0:(1), 30:(1.05)",1.02'])["motion.zoom"] == ["0:(1), 30:(1.05)", 1.02]
    for bad, words in [("motion.zoom", "key.path=value1,value2"), ("motion.zoom=", "key.path=value1"),
                       ("output.dir=a,b", "a sweep sets this itself"), ("sweep.x=1", "a sweep sets this itself")]:  # fmt: skip
        with pytest.raises(SweepError, match=words):
            parse_grid([bad])
    with pytest.raises(SweepError, match="given twice"):
        parse_grid(["seed=1", "seed=2"])


def test_cells_are_named_from_their_values_and_nothing_is_written(tmp_path):
    recipe = tiny(tmp_path)
    sweep = plan([recipe], GRID, ["frames=2"])
    names = [cell.name for cell in sweep.cells]
    assert names == ["motion.zoom=1.01_dream.steps=1", "motion.zoom=1.01_dream.steps=2",
                     "motion.zoom=1.05_dream.steps=1", "motion.zoom=1.05_dream.steps=2"]  # fmt: skip
    assert sweep.folder == (tmp_path / "tiny-sweep").resolve() and not sweep.folder.exists()
    assert sweep.keys == ["motion.zoom", "dream.steps"]
    assert sweep.values[names[1]] == {"motion.zoom": 1.01, "dream.steps": 2}
    config = sweep.cells[1].config()
    assert (config.motion.zoom, config.dream.steps, config.frames, config.sweep) == (1.01, 2, 2, {})
    assert config.output_dir() == sweep.folder / names[1]
    assert sweep.cells[1].command().endswith("--set frames=2 --set motion.zoom=1.01 --set dream.steps=2")
    odd = plan([recipe], {"size": [[64, 48]], "color.reference": ["../pics/a b.png"]}, folder=tmp_path / "x")
    assert odd.cells[0].name == "size=64,48_color.reference=..-pics-a-b.png"


def test_a_recipes_sweep_section_is_the_grid_and_validated(tmp_path, cli):
    recipe = tiny(tmp_path, "sweep: {motion.zoom: [1.01, 1.05], seed: [1, 2, 3]}\n")
    assert len(plan([recipe]).cells) == 6
    assert len(plan([recipe], {"seed": [4]}).cells) == 2  # --grid replaces the recipe's values of a key
    assert [c.name for c in plan([recipe], sets=["motion.zoom=1.02"]).cells] == ["seed=1", "seed=2", "seed=3"]  # --set fixes it
    code, out, _ = cli("check", recipe)
    assert code == 0  # `zoomdream render` ignores the section
    for section, words in [("sweep: {motion.zoom: []}", "sweep: motion.zoom: give at least one value"),
                           ("sweep: {output.dir: [a, b]}", "sweep: output.dir: a sweep sets this itself"),
                           ("sweep: {motion.zoom: 1.01}", "sweep.motion.zoom: input should be a valid list")]:  # fmt: skip
        code, _, err = cli("check", tiny(tmp_path, section + "\n", "bad.yaml"))
        assert code == 2 and words in err, err


@pytest.mark.parametrize("grid, words", [
    ("motion.zom=1.01,1.05", "zoomdream: error: cell motion.zom=1.01_seed=1: motion.zom: unknown key; did you mean 'zoom'?"),
    ("motion.zoom=1.01,abc", "zoomdream: error: cell motion.zoom=abc_seed=1: motion.zoom: unknown name 'abc'"),
    ("dream.steps=1,-4", "zoomdream: error: cell dream.steps=-4_seed=1: dream.steps:"),
])  # fmt: skip
def test_a_bad_cell_is_one_line_naming_the_cell_and_the_key_and_nothing_renders(tmp_path, cli, grid, words):
    code, out, err = cli("sweep", tiny(tmp_path), "--grid", grid, "--grid", "seed=1,2")
    assert code == 2
    assert err.startswith(words) and err.count("\n") == 1, err
    assert not (tmp_path / "tiny-sweep").exists() and not (tmp_path / "out").exists()


def test_several_recipes_are_a_sweep_of_recipes(tmp_path, cli):
    a = tiny(tmp_path / "a")
    b = tiny(tmp_path / "b", "motion: {zoom: 1.04}\n", "other.yaml")
    b.write_text(b.read_text().replace("name: tiny", "name: other"))
    sweep = plan([a, b], {"seed": [1, 2]}, folder=tmp_path / "s")
    assert [c.name for c in sweep.cells] == ["tiny_seed=1", "tiny_seed=2", "other_seed=1", "other_seed=2"]
    assert sweep.name == "tiny+other" and sweep.keys == ["recipe", "seed", "motion.zoom"]
    assert sweep.values["other_seed=2"] == {"recipe": str(b), "seed": 2, "motion.zoom": 1.04}
    code, out, _ = cli("sweep", a, b, "--grid", "seed=1,2", "--list")
    assert code == 0 and "4 cells into" in out and (tmp_path / "a" / "tiny+other-sweep").as_posix() in out


def test_a_cell_resolves_its_paths_from_its_recipe_where_it_runs(tmp_path, monkeypatch):
    pictures = tmp_path / "recipes" / "pictures"
    pictures.mkdir(parents=True)
    shutil.copy(Path(__file__).parent.parent / "configs" / "coffee.jpg", pictures / "coffee.jpg")
    recipe = tiny(tmp_path / "recipes", "start: {image: pictures/coffee.jpg}\n")
    sweep = plan([recipe], {"seed": [1]}, folder=tmp_path / "s")
    monkeypatch.chdir(tmp_path)  # a worker's working folder is not the recipe's
    assert sweep.cells[0].config().start.image == str(pictures / "coffee.jpg")


def test_the_page_is_one_static_file_with_its_data_escaped(tmp_path):
    sweep = plan([tiny(tmp_path)], {"color.reference": ["</script><b>x.png"]}, folder=tmp_path / "s")
    page.write(sweep, page.snapshot(sweep, {}, "local", running=False))
    text = sweep.page.read_text()
    assert "</script><b>" not in text and "http://" not in text and "https://" not in text  # no server, no CDN
    data = json.loads(sweep.record.read_text())
    assert data["cells"][0]["state"] == "new" and data["keys"] == ["color.reference"]


# -- rendering: the engines, resume, stop --------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The 4-cell sweep of the tiny recipe, rendered by the local engine."""
    folder = tmp_path_factory.mktemp("swept")
    sweep = plan([tiny(folder)], GRID)
    report = run(sweep, engine="local", quiet=True)
    assert [o.state for o in report.outcomes] == ["finished"] * 4, report
    return sweep


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    start_local(2)  # what `zoomdream sweep --engine ray` starts without --address, on this machine's 2 cores
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_local_and_ray_sweeps_render_the_frames_of_single_renders(swept, ray_cluster, tmp_path):
    recipe = Path(swept.cells[0].recipe)
    by_ray = plan([recipe], GRID, folder=tmp_path / "ray")
    report = run(by_ray, engine="ray", quiet=True)
    assert [o.state for o in report.outcomes] == ["finished"] * 4, report
    for local, remote in zip(swept.cells, by_ray.cells):
        alone = single(recipe, local, tmp_path / "single" / local.name)
        assert same_frames(local.output, alone), local.name
        assert same_frames(remote.output, alone), remote.name
        saved = RenderFolder(local.output).config  # config.yaml: the cell's resolved recipe
        assert (saved.motion.zoom, saved.dream.steps, saved.sweep) == (dict(local.grid)["motion.zoom"], dict(local.grid)["dream.steps"], {})
    data = json.loads(swept.record.read_text())
    assert data["counts"] == {"finished": 4} and not data["running"]
    lane = data["cells"][0]["lanes"][0]
    assert {v["curve"] for v in lane["verdicts"]} >= {"luma", "boil"} and lane["video"].startswith("motion.zoom%3D1.01")
    assert (swept.folder / lane["sheet"].split("?")[0].replace("%3D", "=")).exists()


@pytest.mark.slow
def test_two_local_workers_at_once_render_what_one_thread_renders(swept, tmp_path):
    """--cpus-per-cell 1 on 2 cores: two worker processes, one thread each. Their frames equal
    single renders made with one thread (the thread count is part of a render's rounding)."""
    import torch

    recipe = Path(swept.cells[0].recipe)
    twice = plan([recipe], GRID, folder=tmp_path / "two")
    report = run(twice, engine="local", cpus_per_cell=1, quiet=True)
    assert sorted(o.state for o in report.outcomes) == ["finished"] * 4, report
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for cell in twice.cells:
            assert same_frames(cell.output, single(recipe, cell, tmp_path / "single" / cell.name)), cell.name
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_a_ray_worker_killed_mid_cell_is_retried_from_its_checkpoint(ray_cluster, tmp_path):
    recipe = tiny(tmp_path)
    recipe.write_text(recipe.read_text().replace("frames: 3", "frames: 6").replace("bit_depth: 8}", "bit_depth: 8}, checkpoint_every: 2"))
    marker, log = tmp_path / "killed", tmp_path / "starts.log"

    def kill_once(cell, event):  # runs in the Ray worker: the first time a checkpoint is on disk, die like an OOM-kill
        if isinstance(event, events.Started):
            with open(log, "a") as f:
                f.write(f"{cell} {event.done}\n")
        if isinstance(event, events.Checkpointed) and event.frame == 2 and cell.endswith("1.05") and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)

    sweep = plan([recipe], {"motion.zoom": [1.01, 1.05]}, folder=tmp_path / "s")
    report = run(sweep, engine="ray", hooks=[kill_once], quiet=True)
    assert [o.state for o in report.outcomes] == ["finished", "finished"], report
    assert marker.exists()
    assert sorted(log.read_text().split("\n")[:-1]) == ["motion.zoom=1.01 0", "motion.zoom=1.05 0", "motion.zoom=1.05 2"]
    killed = next(o for o in report.outcomes if o.name.endswith("1.05"))
    assert killed.resumed == 2 and int(marker.read_text()) != 0
    assert same_frames(sweep.cells[1].output, single(recipe, sweep.cells[1], tmp_path / "alone"))


@pytest.mark.slow
def test_a_killed_sweep_run_again_renders_only_the_unfinished_cells(tmp_path, cli):
    recipe = tiny(tmp_path)
    recipe.write_text(recipe.read_text().replace("frames: 3", "frames: 6").replace("bit_depth: 8}", "bit_depth: 8}, checkpoint_every: 1"))
    args = ["sweep", str(recipe), "--grid", "seed=1,2,3", "--quiet"]
    sweep = plan([recipe], {"seed": [1, 2, 3]})
    first, second = (RenderFolder(cell.output) for cell in sweep.cells[:2])
    process = subprocess.Popen([sys.executable, "-m", "zoomdream", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (first.record.exists() and second.progress()["done"] >= 1):
            assert process.poll() is None and time.monotonic() < deadline, "the sweep ended before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert second.state() == "interrupted" and sweep.cells[2].output.exists() is False
    kept = first.record.stat().st_mtime_ns
    code, out, err = cli(*args[:-1])
    assert code == 0, err
    assert "3 of 3 cells finished, 1 before this run" in out
    assert first.record.stat().st_mtime_ns == kept  # the finished cell was not rendered again
    assert "seed=2: finished 6 frames" in err and "resumed at frame" in err.split("seed=2:")[1].split("\n")[0]
    assert same_frames(second.path, single(recipe, sweep.cells[1], tmp_path / "alone"), exact_video=False)


@pytest.mark.slow
def test_ctrl_c_stops_the_running_cell_cleanly_and_the_same_command_continues(tmp_path, cli, monkeypatch):
    recipe = tiny(tmp_path)
    args = ["sweep", recipe, "--grid", "motion.zoom=1.01,1.05", "--quiet"]
    stop_at(monkeypatch, 1)  # a real SIGINT while the first cell makes its frame 1
    code, out, err = cli(*args)
    assert code == 128 + signal.SIGINT, err
    assert f"continue with: zoomdream sweep {recipe} --grid motion.zoom=1.01,1.05 --quiet" in err
    assert "0 of 2 cells finished, 2 stopped or not started" in out
    sweep = plan([recipe], {"motion.zoom": [1.01, 1.05]})
    stopped = RenderFolder(sweep.cells[0].output)
    assert stopped.state() == "interrupted" and stopped.lanes()[0].video.exists()  # the video so far, joined
    assert len(list(decode_video(stopped.lanes()[0].video))) == stopped.progress()["done"] == 2
    assert json.loads(sweep.record.read_text())["cells"][0]["state"] == "interrupted"
    monkeypatch.undo()
    code, out, err = cli(*args)
    assert code == 0 and "2 of 2 cells finished" in out, err
    assert same_frames(stopped.path, single(recipe, sweep.cells[0], tmp_path / "alone"), exact_video=False)


@pytest.mark.slow
def test_the_page_opens_in_chromium_plays_its_videos_and_sorts(swept, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium at /usr/bin/chromium (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        view = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        view.on("pageerror", lambda error: errors.append(str(error)))
        view.goto(swept.page.as_uri())
        view.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2 && !v.seeking)", timeout=20_000)
        assert view.locator("#cells tbody tr").count() == 4 and view.locator(".card img").count() == 4
        view.locator("th", has_text="boil").click()
        view.locator("th", has_text="boil").click()  # descending
        boil = [float(x) for x in view.locator("#cells tbody td:nth-child(12)").all_inner_texts()]
        assert boil == sorted(boil, reverse=True) and len(set(boil)) > 1
        assert "sort=curve%3Aboil&dir=desc" in view.url
        view.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        browser.close()
    assert not errors


@pytest.mark.slow
def test_a_stopped_ray_sweep_stops_its_cells_cleanly_and_resumes(ray_cluster, tmp_path):
    recipe = tiny(tmp_path)
    recipe.write_text(recipe.read_text().replace("frames: 3", "frames: 12").replace("bit_depth: 8}", "bit_depth: 8}, checkpoint_every: 1"))
    sweep = plan([recipe], {"seed": [1]}, folder=tmp_path / "s")
    folder, stop = RenderFolder(sweep.cells[0].output), threading.Event()

    def ctrl_c_once_frames_are_made():
        while not stop.is_set():
            if folder.progress()["done"] >= 2:
                stop.set()
            time.sleep(0.02)

    def hold_each_frame(cell, event):  # runs in the Ray worker: 0.3 s a frame, so the stop lands mid-render on any machine
        if isinstance(event, events.Frames):
            time.sleep(0.3 * event.count)

    threading.Thread(target=ctrl_c_once_frames_are_made, daemon=True).start()
    report = run(sweep, engine="ray", stop=stop, quiet=True, hooks=[hold_each_frame])
    assert [o.state for o in report.outcomes] == ["interrupted"], report
    done = folder.progress()["done"]
    assert folder.state() == "interrupted" and 2 <= done < 12 and not sweep.stop_file.exists()
    assert len(list(decode_video(folder.lanes()[0].video))) == done  # the cell joined its video so far
    report = run(sweep, engine="ray", quiet=True)
    assert [(o.state, o.resumed) for o in report.outcomes] == [("finished", done)]
    assert same_frames(folder.path, single(recipe, sweep.cells[0], tmp_path / "alone"), exact_video=False)


@pytest.mark.slow
def test_a_preview_sweep_previews_every_cell_on_its_own_page(tmp_path):
    sweep = plan([tiny(tmp_path)], {"seed": [1, 2]}, preview=True)
    report = run(sweep, quiet=True)
    assert [o.state for o in report.outcomes] == ["finished", "finished"]
    for cell in sweep.cells:
        assert RenderFolder(Path(cell.folder) / "preview").state() == "finished"
        assert RenderFolder(cell.folder).state() == "new"  # the real render's folder is not touched
    assert sweep.page.name == "preview.html" and not (sweep.folder / "index.html").exists()
    lane = json.loads(sweep.record.read_text())["cells"][0]["lanes"][0]
    assert lane["video"].startswith("seed%3D1/preview/tiny.mp4") and lane["verdicts"]
