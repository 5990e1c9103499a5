"""Seamless loops (``loop:``) and the VJ and sharing codecs: HAP, HAP Q, GIF, WebP.

The recipe's checks are torch-free; the engine's are on tiny dreams (efficientnet_lite0, 64x48);
the renders that only need frames that change use ``dream.steps: 0`` (no network).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import TINY, StopAt, decode, frame_count, pngs, tiny_recipe
from zoomdream.api import Interrupted, render
from zoomdream.config import ConfigError, load_config
from zoomdream.config.loop import cyclic, timing
from zoomdream.engine.plan import Planner, camera_path
from zoomdream.engine.renderer import Renderer
from zoomdream.engine.seamless import Past, Seamless, bands, gaps, level_count, pull
from zoomdream.io import ffmpeg
from zoomdream.io.codecs import CODECS, check_codec
from zoomdream.io.errors import SinkError
from zoomdream.io.video import VideoSink
from zoomdream.look import figures
from zoomdream.look.seam import SeamFigures, edges
from zoomdream.run.events import Frames, Started
from zoomdream.schedules.keyframes import Clock, Schedule

# -- the recipe ---------------------------------------------------------------------------


def test_a_loop_is_exactly_as_long_as_asked():
    assert load_config({"fps": 30, "loop": {"length": "8s", "crossfade": "2s"}}).frame_count == 240
    assert load_config({"frames": 90, "loop": {}}).frame_count == 90
    assert load_config({"duration": "3s", "fps": 20, "loop": {}}).frame_count == 60
    # The default crossfade is 2 s, at most half the loop; the warm-up settles first, then renders the crossfade's past.
    assert timing(load_config({"fps": 30, "loop": {"length": 240}})) == (240, 150, 60, 1)
    assert timing(load_config({"fps": 30, "loop": {"length": 40}})).crossfade == 20
    # Whole dream intervals: the crossfade is rounded up to them and the warm-up ends on a dreamed frame.
    assert timing(load_config({"fps": 30, "motion": {"dream_every": 4}, "loop": {"length": 240, "crossfade": 30, "warmup": 40}})) == (240, 41, 32, 4)


@pytest.mark.parametrize("recipe, message", [
    ({"frames": 120, "motion": {"zoom": {0: 1.01, 120: 1.03}}},
     "motion.zoom: the loop ends at 1.03 (frame 120) but starts at 1.01; a loop's schedules must end where they start"),
    ({"frames": 120, "motion": {"rotate": {0: 0, 60: 1, 120: 0}}},
     "motion.rotate: changes by -0.0167/frame into the loop's end but +0.0167/frame out of its start, a kink at the seam"),
    ({"frames": 120, "motion": {"pan_x": "0.05*t"}, "loop": {"periodic": True}},
     "motion.pan_x: jumps from 5.95 to 0 where the loop wraps (frame 119 -> 0)"),
    ({"frames": 120, "dream": {"step_size": {0: 0.01, 100: 0.02}}}, "dream.step_size: the loop ends at 0.02"),
    ({"frames": 120, "motion": {"center": [{0: 0.5, 120: 0.6}, 0.5]}}, "motion.center.0: the loop ends at 0.6"),
])  # fmt: skip
def test_a_schedule_that_does_not_return_is_one_line_naming_the_key(cli, tmp_path, recipe, message):
    loop = {"loop": {}, **recipe}
    loop["loop"] = {**loop.get("loop", {}), **recipe.get("loop", {})}
    with pytest.raises(ConfigError) as error:
        load_config(loop)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    path = tmp_path / "loop.yaml"
    path.write_text(json.dumps(loop))
    code, _, err = cli("check", path)
    assert code == 2 and err.startswith(f"zoomdream: error: {message}") and err.count("\n") == 1


@pytest.mark.parametrize("recipe", [
    {"motion": {"zoom": 1.02, "rotate": 0.5, "pan_x": 1.5, "tilt_y": 0.1}},  # constant motion loops by itself
    {"motion": {"interpolation": "ease", "rotate": {0: 0, 60: 1, 120: 0}}},  # eased keys are flat at the ends
    {"motion": {"rotate": "0.5*sin(2*pi*t/frames)", "zoom": "1.01 + 0.005*cos(2*pi*s/4)"}},  # periodic over the loop
    {"motion": {"rotate": {0: 0, 60: 1}}, "loop": {"periodic": True}},  # joined around: 1 at 60, back to 0 at 120
    {"motion": {"interpolation": "cubic", "zoom": {0: 1.0, 40: 1.03, 80: 0.99}}, "loop": {"periodic": True}},
    {"motion": {"zoom": "1.02 + 0.01*beat"}, "audio": {"file": "configs/beat.ogg"}, "duration": 4},  # the track loops with it
])  # fmt: skip
def test_schedules_written_for_the_loop_are_accepted(recipe):
    length = {} if "duration" in recipe else {"frames": 120}
    config = load_config({**length, "fps": 30, **recipe, "loop": recipe.get("loop", {})})
    assert config.frame_count == 120


@pytest.mark.parametrize("recipe, message", [
    ({"frames": 240, "loop": {"length": 240}}, "loop.length: the video's length is given twice (frames and loop.length)"),
    ({"frames": 60, "loop": {"crossfade": 31}}, "loop.crossfade: 31 frames is more than half the loop (60 frames)"),
    ({"frames": 60, "loop": {"crossfade": 20, "warmup": 20}}, "loop.warmup: 20 frames must be longer than the crossfade (20 frames)"),
    ({"frames": 250, "motion": {"dream_every": 4}, "loop": {}}, "loop.length: 250 frames is not a multiple of motion.dream_every (4)"),
    ({"frames": 1, "loop": {}}, "loop.length: a loop needs at least 2 frames"),
    ({"loop": {"length": 8.5}}, "loop.length: give frames like 240 or a time like '8s' (got 8.5)"),
    ({"loop": {"crossfade": "2 seconds"}}, "loop.crossfade: give frames like 240 or a time like '8s'"),
])  # fmt: skip
def test_loop_lengths_are_checked_in_one_line(recipe, message):
    with pytest.raises(ConfigError) as error:
        load_config(recipe)
    assert str(error.value).startswith(message)


def test_periodic_keyframes_join_the_last_key_to_the_first_one_a_loop_later():
    clock = Clock(30, 120)
    linear = cyclic(Schedule.parse({0: 0.0, 60: 1.0}), 120, 30)
    assert np.allclose(linear.values([0, 30, 60, 90, 119], clock), [0, 0.5, 1, 0.5, 1 / 60])
    smooth = cyclic(Schedule.parse({0: 1.0, 40: 1.03, 80: 0.99}, "cubic"), 120, 30).values(np.arange(-2, 123), clock)
    steps = np.diff(smooth)
    assert np.abs(np.diff(steps)).max() < 2e-4, "the cubic is as smooth across the wrap as anywhere"
    assert np.isclose(smooth[2], smooth[122]), "frame 120 is frame 0 again"


# -- the engine ---------------------------------------------------------------------------


def test_the_planner_reads_every_frame_at_the_loop_time():
    config = load_config({"frames": 60, "fps": 30, "motion": {"rotate": "0.5*sin(2*pi*t/frames)", "zoom": 1.02}, "loop": {}})
    planner, warmup = Planner(config), timing(config).warmup
    assert planner.first == -warmup
    for t, same in [(-1, 59), (-warmup, 60 - warmup), (60, 0), (61, 1), (200, 20)]:
        assert planner.at(t) == planner.at(same)
    motion = camera_path([planner], config.size)
    assert torch.equal(motion.move(60).theta, motion.move(0).theta), "the move into frame 0 is the one after the last frame"


def test_the_pull_sums_the_pyramid_back_and_restores_the_detail_a_mix_loses():
    torch.manual_seed(0)
    x, y = torch.rand(2, 3, 48, 64), torch.rand(2, 3, 48, 64)
    n = level_count(48, 64)
    assert n == 3
    assert torch.allclose(pull(x, y, [1.0] * n), y, atol=1e-6) and torch.allclose(pull(x, y, [0.0] * n), x, atol=1e-6)
    half, kept = pull(x, y, [0.5] * n), pull(x, y, [0.5] * n, restore=[1.0] * n)
    detail = [bands(p, n)[0].std() / bands(y, n)[0].std() for p in (half, kept)]
    assert detail[0] < 0.75 and 0.97 < detail[1] < 1.03, "a mix of two pictures loses a third of its detail; restored, it keeps it"
    coarse = pull(x, y, [0.0] * (n - 1) + [1.0])
    assert (coarse - x).abs().mean() < (y - x).abs().mean() / 2, "the coarsest level alone is only the broad colours"


def test_each_level_keeps_its_share_of_the_gap_however_much_the_dream_regrows():
    """The dream regrows the tail's own detail between pulls; the gap still closes on schedule (an
    even quarter a frame over a 4-frame crossfade), not in a pile-up at the end."""
    seamless = Seamless(load_config({**TINY, "frames": 8, "loop": {"crossfade": 4, "warmup": 5}}))
    torch.manual_seed(0)
    past, x = torch.rand(1, 3, 48, 64) * 0.5 + 0.25, torch.rand(1, 3, 48, 64) * 0.5 + 0.25
    seamless.past = Past({"x": past, "velocity": None}, 0)
    levels = seamless.levels
    for t, left in zip(range(4, 8), [0.75, 0.5, 0.25, 0.0]):
        x = (past + 1.5 * (x - past)).clamp(0, 1)  # a dream that pushes the tail half as far again from the past
        x, _ = seamless.pull(x, None, t)
        kept = [float(g / g0) for g, g0 in zip(gaps(bands(x, levels), bands(past, levels)), seamless.start)]
        assert all(abs(k - left) < 0.1 for k in kept), (t, kept)
    assert torch.allclose(x, past, atol=1e-6), "the last frame of the tail is the past's"


def rendered_with_the_past(config):
    """Every frame a loop renders (warm-up too) by number, and the head's past as dreamed again."""
    renderer, seen, again = Renderer(config), {}, {}
    before = renderer.seamless.before

    def keep(r, t, k):
        before(r, t, k)
        if t >= renderer.seamless.fade_start:
            again[t - config.frame_count + k - 1] = renderer.seamless.past.state["x"].clone()

    renderer.seamless.before = keep
    with torch.no_grad():
        for t, frames in renderer.frames():
            seen.update({t + i: frame.clone() for i, frame in enumerate(frames)})
    return renderer, seen, again


@pytest.mark.parametrize("every", [1, 2])
def test_the_tail_ends_on_the_frame_before_the_head(every):
    """Two lanes (each loops), zoom and rotation: the crossfade's past is dreamed again bit for bit,
    the last frame is the frame the first one was dreamed from, and the frame after the last one is
    the first one up to an ordinary frame's change."""
    config = load_config({**TINY, "frames": 8, "motion": {"zoom": 1.04, "rotate": 2, "dream_every": every},
                          "loop": {"crossfade": 2, "warmup": 5}, "variants": [{"name": "a", "seed": 1}, {"name": "b", "seed": 2}]})  # fmt: skip
    renderer, seen, again = rendered_with_the_past(config)
    warmup = timing(config).warmup
    assert sorted(seen) == list(range(-warmup, 8)) and seen[0].shape[0] == 2
    assert again and all(torch.equal(frame, seen[t]) for t, frame in again.items()), "the past, dreamed again, is the warm-up"
    assert torch.allclose(seen[7], seen[-1], atol=1e-5), "the last frame is frame -1"
    with torch.no_grad():
        after = renderer.interval(renderer.x, 8, every)[0]  # the frame after the last one, as the render would go on
    motion = renderer.motion
    boil = [figures.measure(seen[t], *figures.carry(seen[t - 1], motion.move(t)))["boil"] for t in range(1, 8)]
    wrap = figures.measure(after, *figures.carry(seen[7], motion.move(8)))["boil"]
    assert torch.all(wrap <= 1.5 * torch.stack(boil).median(0).values), "frame 8 is dreamed from frame 7 as frame 0 was from -1"
    assert (after - seen[0]).abs().mean() < (seen[4] - seen[0]).abs().mean(), "and it is frame 0, not some other frame"


# -- the render ---------------------------------------------------------------------------


def loop_recipe(tmp_path, name="loop", output="frames: {bit_depth: 8}", **lines):
    values = {"frames": "8", "motion": "{zoom: 1.04, rotate: 2}", "loop": "{crossfade: 2, warmup: 4}",
              "output": f"{{dir: {tmp_path / name}, checkpoint_every: 2, {output}}}", **lines}  # fmt: skip
    return tiny_recipe(tmp_path, name, **values)


@pytest.mark.slow
def test_a_loop_writes_only_its_frames_and_resumes_bit_identically_across_the_crossfade(tmp_path):
    events = []
    whole = render(loop_recipe(tmp_path, "whole"), events=events.append)
    started = next(e for e in events if isinstance(e, Started))
    firsts = [e.first for e in events if isinstance(e, Frames)]
    assert (started.total, firsts[0], firsts[-1]) == (12, -4, 7), "the warm-up is rendered and counted, not written"
    assert list(pngs(whole.folder)) == [f"{i:06d}.png" for i in range(8)] and frame_count(whole.video) == 8
    record = json.loads((whole.folder / "render.json").read_text())
    assert record["frames"] == 8 and record["loop"] == {"length": 8, "warmup": 4, "crossfade": 2, "every": 1}
    for stop in (-2, 6):  # in the warm-up, and in the crossfade (with the head's past half dreamed again)
        path = loop_recipe(tmp_path, f"cut{stop + 2}")
        with pytest.raises(Interrupted):
            _stopped(path, stop)
        resumed = render(path, resume=True)
        assert pngs(resumed.folder) == pngs(whole.folder), f"stopped at {stop}, resumed bit for bit"
        assert frame_count(resumed.video) == 8


def _stopped(path, frame):
    stop = StopAt(frame)
    return render(path, events=stop, stop=stop)


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["hap", "hap_q", "gif", "webp"])
def test_vj_and_sharing_codecs_read_back_as_loops(tmp_path, codec):
    """Stopped half way and resumed, so the video is joined from checkpoint segments."""
    path = loop_recipe(tmp_path, codec, output=f"video: {{codec: {codec}}}", dream="{steps: 0}", size="[66, 50]")
    with pytest.raises(Interrupted):
        _stopped(path, 3)
    result = render(path, resume=True)
    video = result.video
    assert video.suffix == CODECS[codec].extension and video.exists()
    if codec.startswith("hap"):
        frames = decode(video)
        assert frames.shape == (8, 52, 68, 3), "HAP's 4x4 blocks: padded by repeating the edge, never rescaled"
        assert np.array_equal(frames[:, 50], frames[:, 51])
        _, report = ffmpeg.probe(video)
        assert ("HapY" if codec == "hap_q" else "Hap1") in report, "HAP Q is its own fourcc: DXT5-YCoCg textures"
    else:
        image = Image.open(video)
        assert (image.n_frames, image.info["loop"], image.size) == (8, 0, (66, 50)), "every frame, looping forever"


def test_hap_pads_sizes_to_its_blocks_and_gif_and_webp_need_their_encoders(tmp_path, monkeypatch):
    assert CODECS["hap"].padded((66, 50)) == (68, 52) and CODECS["gif"].padded((65, 49)) == (65, 49)
    with VideoSink(tmp_path / "clip.mov", (30, 22), fps=10, codec="hap_q") as sink:
        for i in range(3):
            sink.write(i, np.full((22, 30, 3), i / 4, np.float32))
    assert decode(tmp_path / "clip.mov").shape == (3, 24, 32, 3)
    monkeypatch.setattr(ffmpeg, "encoders", lambda: frozenset({"libx264", "gif", "hap"}))
    with pytest.raises(SinkError, match="output.video.codec: gif needs ffmpeg's ffv1 encoder"):
        check_codec("gif", (64, 48))


@pytest.mark.slow
def test_a_loop_previews_and_loops_a_track(tmp_path):
    track = tmp_path / "beat.ogg"
    track.write_bytes((Path(__file__).parent.parent / "configs" / "beat.ogg").read_bytes())
    path = loop_recipe(tmp_path, "track", output="video: {codec: hap}", frames="null", duration="audio", fps="6",
                       dream="{steps: 0}", motion="{zoom: '1.02 + 0.02*beat'}", audio="{file: beat.ogg}")  # fmt: skip
    result = render(path)
    assert frame_count(result.video) == 96 and ffmpeg.streams(ffmpeg.probe(result.video)[1], "Audio")
    preview = render(loop_recipe(tmp_path, "pre", dream="{steps: 1, octaves: 1}", frames="16"), preview=True)
    assert frame_count(preview.video) == 16


@pytest.mark.slow
def test_look_measures_the_seam(cli, tmp_path):
    folder = render(loop_recipe(tmp_path, "seen")).folder
    code, out, err = cli("look", folder)
    assert code == 0, err
    assert "  seam       " in out and "extra frames rendered: 75% of the loop" in out
    record = json.loads((folder / "look.json").read_text())
    assert record["verdicts"][-1]["curve"] == "seam" and record["seam"]["timing"] == [8, 4, 2, 1]
    assert (folder / "seam.jpg").exists() and Image.open(folder / "seam.jpg").width > 6 * 64 * 0.9


def test_the_seam_verdict_and_edge_energy():
    fine = SeamFigures(1.1, 1.3, 0.95, 0.93, (0.9, 1.1), 0.03, 0.033, timing(load_config({"frames": 60, "loop": {}})))
    assert fine.verdict().word == "ok"
    for worse in ({"seam": 1.4}, {"fade_boil": 1.7}, {"fade_contrast": 0.72}, {"fade_edges": 0.8}):
        assert SeamFigures(**{**fine.__dict__, **worse}).verdict().word == "seam"
    flat, stripes = torch.full((1, 3, 16, 16), 0.5), torch.zeros(1, 3, 16, 16)
    stripes[..., ::4], stripes[..., 1::4] = 1, 1
    assert edges(flat)[0] == 0 and edges(stripes)[0] > 0.2
    half = 0.5 * stripes + 0.5 * stripes.roll(2, -1)  # a dissolve of two detailed pictures loses the detail
    assert edges(half)[0] < 0.1 * edges(stripes)[0]
