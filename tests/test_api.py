"""The engine as every front-end uses it: zoomdream.render with events and a stop token, the
render folder's state, and motion fields other than the camera."""

import queue
import subprocess
import sys
import threading

import pytest
import torch

import zoomdream
from conftest import rendered
from helpers import StopAt, pngs, tiny_recipe
from zoomdream.api import Interrupted, render
from zoomdream.config import load_config
from zoomdream.engine.renderer import Renderer
from zoomdream.motion import FlowMove
from zoomdream.run import events
from zoomdream.run.folder import RenderFolder, find


@pytest.fixture
def recipe(tmp_path):
    """A 16-bit PNG render of 8 frames with a checkpoint every 2, so 'identical' compares every bit."""

    def make(name):
        return tiny_recipe(tmp_path, name, frames="8", motion="{zoom: 1.05, rotate: 1}",
                           output=f"{{dir: {tmp_path / name}, frames: {{bit_depth: 16}}, checkpoint_every: 2}}")  # fmt: skip

    return make


@pytest.mark.slow
def test_worker_thread_streams_events_is_stopped_from_main_and_resumes_identically(recipe, tmp_path):
    whole = render(recipe("whole"))
    cut = recipe("cut")
    seen, stop, made = [], threading.Event(), queue.Queue()

    def subscriber(event):
        seen.append(event)
        if isinstance(event, events.Frames):
            made.put(event.done)

    outcome = {}

    def work():
        try:
            render(cut, events=subscriber, stop=stop)
        except Interrupted as stopped:
            outcome["stopped"] = stopped

    worker = threading.Thread(target=work)
    worker.start()
    while made.get(timeout=60) < 3:
        pass
    stop.set()  # from the main thread, as a web page's stop button would
    worker.join(timeout=60)
    stopped = outcome["stopped"]
    assert 3 <= stopped.done < 8 and stopped.total == 8 and stopped.flag == "--resume"
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "Started" and "Checkpointed" in kinds and "Finished" not in kinds
    frames = [e for e in seen if isinstance(e, events.Frames)]
    assert [e.done for e in frames] == list(range(1, stopped.done + 1))
    assert all(e.total == 8 and e.fps > 0 for e in frames)
    preview = frames[-1].previews[0]
    assert preview.dtype.name == "uint8" and preview.shape == (48, 64, 3)
    assert set(frames[-1].look) >= {"luma", "boil", "centroid"}

    folder = RenderFolder(tmp_path / "cut")
    assert folder.state() == "interrupted" and folder.progress()["done"] == stopped.done
    assert (tmp_path / "cut" / "cut.mp4").exists(), "the video so far is joined into a playable file"
    resumed = render(cut, resume=True)
    assert folder.state() == "finished" and resumed.frames == 8
    assert pngs(tmp_path / "cut") == pngs(whole.folder)


@pytest.mark.slow
def test_a_subscriber_that_raises_does_not_corrupt_the_render(recipe, tmp_path):
    whole = render(recipe("whole"))
    notices = []

    def broken(event):
        if isinstance(event, events.Frames) and event.done == 2:
            raise RuntimeError("the live view broke")

    def listener(event):
        if isinstance(event, events.Notice):
            notices.append(event.message)

    result = render(recipe("other"), events=[broken, listener])
    assert pngs(result.folder) == pngs(whole.folder)
    assert len(notices) == 1 and "RuntimeError: the live view broke" in notices[0]


@pytest.mark.slow
def test_stop_token_set_before_the_first_frame_still_leaves_a_resumable_folder(recipe, tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted) as info:
        render(recipe("early"), stop=stop)
    assert info.value.done == 1
    assert RenderFolder(tmp_path / "early").state() == "interrupted"
    assert render(recipe("early"), resume=True).frames == 8


@pytest.mark.slow
def test_stop_through_the_token_checkpoints_at_the_frame_in_flight(recipe, tmp_path):
    stopper = StopAt(4)
    with pytest.raises(Interrupted) as info:
        render(recipe("at4"), events=stopper, stop=stopper)
    assert info.value.done == 5


@pytest.mark.slow
def test_render_folders_are_listed_with_their_state_without_torch(recipe, tmp_path):
    render(recipe("done"))
    stopper = StopAt(2)
    with pytest.raises(Interrupted):
        render(recipe("half"), events=stopper, stop=stopper)
    states = {f.path.name: (f.state(), f.progress()["done"]) for f in find(tmp_path)}
    assert states == {"done": ("finished", 8), "half": ("interrupted", 3)}
    code = ("import sys; from zoomdream.run.folder import find; from pathlib import Path;"
            f"print(sorted(f.state() for f in find(Path({str(tmp_path)!r})))); print('torch' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["['finished',", "'interrupted']", "False"]


def test_config_imports_no_torch():
    code = "import sys, zoomdream.config as c; c.load_config('configs/quickstart.yaml'); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


class AsFlow:
    """A dense-field producer built from the camera's own grids: what an optical flow plugs in as."""

    def __init__(self, camera, size):
        self.camera, self.size = camera, size

    def move(self, t):
        return FlowMove.of(self.camera.move(t), self.size)


class Shift:
    """A dense field that moves the picture right by ``pixels`` per frame, for a 64x48 frame."""

    def __init__(self, pixels):
        self.pixels = pixels

    def move(self, t):
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, 48 * 2 + 1)[1::2], torch.linspace(-1, 1, 64 * 2 + 1)[1::2], indexing="ij")
        dx = 2 * self.pixels / 64
        backward = torch.stack([xs - dx, ys], -1)[None]
        forward = torch.stack([xs + dx, ys], -1)[None]
        return FlowMove(backward, forward)


@pytest.mark.parametrize("every", [1, 2])
def test_a_dense_field_plugs_into_the_frame_algorithm(tiny_config, every):
    """The camera's own move given as a dense field renders the same frames: exactly frame by
    frame; with dream_every the dream's change is carried back by composed fields, which are
    exact inside the frame and approximate within a pixel of its edge."""
    config = load_config(tiny_config, ["frames=4", "motion.zoom=1.05", "motion.rotate=2", "dream.steps=0",
                                       f"motion.dream_every={every}"])  # fmt: skip
    camera = Renderer(config)
    flow = Renderer(config, motion=AsFlow(camera.motion, config.frame_size))
    with torch.no_grad():
        difference = (rendered(flow) - rendered(camera)).abs()
    if every == 1:
        assert difference.max() == 0
    else:
        assert difference.mean() < 1e-3 and difference[..., 2:-2, 2:-2].max() < 1e-3


def test_a_shifting_field_moves_the_picture(tiny_config):
    config = load_config(tiny_config, ["frames=2", "dream.steps=0", "color.mode=none", "motion.sharpen=0"])
    renderer = Renderer(config, motion=Shift(4))
    with torch.no_grad():
        first, second = rendered(renderer)[:, 0]
    assert torch.allclose(second[..., 8:], first[..., 4:-4], atol=1e-4), "every pixel moved 4 to the right"
    assert zoomdream.__version__
