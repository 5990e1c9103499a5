"""Dreaming over footage: clips made here with ffmpeg (an NTSC rate, rotation and non-square pixels,
5.1 and 7.1 sound, a hard cut, an audio-only file), probed, cut, fitted, streamed with exact seeks,
their flow checked both ways, and tiny renders that keep the clip's frames, rate and sound and resume
bit for bit."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from helpers import StopAt, decode, pngs, read_pngs
from zoomdream.api import Interrupted, look, render
from zoomdream.config import ConfigError, load_config
from zoomdream.io import ffmpeg
from zoomdream.engine.plan import camera_path
from zoomdream.engine.renderer import Renderer
from zoomdream.motion import flow as flows

ROOT = Path(__file__).resolve().parents[1]
NTSC = "30000/1001"


def make(path: Path, *args: str) -> Path:
    subprocess.run([ffmpeg.exe(), "-y", "-v", "error", *args, str(path)], check=True)
    return path


def lavfi_testsrc(seconds: float, size: str = "64x48", rate: str = NTSC) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def sine(seconds: float, layout: str = "stereo") -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds},aformat=channel_layouts={layout}"]


H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "4"]  # keyframes every 4 frames, B-frames: seeks have work to do


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    ntsc = make(folder / "ntsc.mp4", *lavfi_testsrc(0.4), *sine(0.4), *H264, "-c:a", "aac")
    cut = make(folder / "cut.mp4", "-f", "lavfi", "-i", f"testsrc2=size=64x48:rate=24:duration=0.25,split[a][b];"
               "[b]hflip,vflip,hue=h=150,negate[c];[a][c]concat=n=2", *H264)  # fmt: skip
    return {
        "ntsc": ntsc,
        "rotated": make(folder / "rotated.mp4", "-display_rotation", "90", "-i", str(ntsc), "-c", "copy"),
        "sar": make(folder / "sar.mp4", *lavfi_testsrc(0.2, rate="25"), "-vf", "setsar=2/1", *H264),
        "surround": make(folder / "surround.mp4", *lavfi_testsrc(0.2, rate="25"), *sine(0.2, "5.1"), *H264, "-c:a", "aac"),
        "eight": make(folder / "eight.mkv", *lavfi_testsrc(0.2, rate="25"), *sine(0.2, "7.1"), *H264, "-c:a", "flac"),
        "cut": cut,
        "still": make(folder / "still.mp4", "-loop", "1", "-i", str(ROOT / "configs" / "coffee.jpg"), "-t", "0.25",
                      "-r", "24", "-vf", "scale=96:64", *H264),  # fmt: skip
        "sound": make(folder / "sound.mp3", *sine(0.5)),
        "broken": folder / "broken.mp4",
    }


@pytest.fixture(scope="module", autouse=True)
def broken(clips):
    clips["broken"].write_bytes(b"not a video at all" * 10)


def footage_recipe(folder: Path, clip: Path, name: str = "clip", video: str = "", extra: str = "", **lines: str) -> Path:
    """``helpers.tiny_recipe`` over a clip: its size, frame count and rate are the clip's unless ``lines`` set them."""
    values = {
        "name": name, "video": f"{{file: {clip}{', ' + video if video else ''}}}", "model": "{name: efficientnet_lite0}",
        "dream": "{steps: 1, octaves: 1}", "output": f"{{dir: {folder / name}, frames: {{bit_depth: 8}}}}", **lines,
    }  # fmt: skip
    path = folder / f"{name}.yaml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in values.items()) + extra)
    return path


def fresh_load(folder: Path, clip: Path, video: str = "", **lines: str):
    return load_config(footage_recipe(folder, clip, video=video, **lines))


# -- probing and the recipe ---------------------------------------------------------------------


def test_probe_reads_the_exact_rate_rotation_pixels_and_sound(clips):
    ntsc = ffmpeg.probe_video(clips["ntsc"])
    assert ntsc.rate == Fraction(30000, 1001) and len(ntsc.times) == 12 and ntsc.audio == ("stereo",)
    rotated = ffmpeg.probe_video(clips["rotated"])
    assert (rotated.size, rotated.rotation, rotated.display) == ((48, 64), 90.0, (48, 64))
    sar = ffmpeg.probe_video(clips["sar"])
    assert (sar.rate, sar.sar, sar.display) == (25, 2, (128, 48))
    assert ffmpeg.probe_video(clips["surround"]).audio == ("5.1",)
    with pytest.raises(ffmpeg.ProbeError, match="only sound"):
        ffmpeg.probe_video(clips["sound"])


def test_the_recipe_takes_rate_length_size_and_sound_from_the_clip(clips, tmp_path):
    config = fresh_load(tmp_path, clips["ntsc"])
    assert Fraction(config.fps).limit_denominator(1_000_000) == Fraction(30000, 1001)
    assert (config.frame_count, config.size, config.motion.zoom) == (12, (64, 48), 1.0)
    assert config.audio is not None and Path(config.audio.file) == clips["ntsc"]
    assert ffmpeg.rate(config.fps) == NTSC
    again = load_config(config.model_dump(mode="json"))  # a written recipe reads back the same
    assert again.model_dump() == config.model_dump()
    assert fresh_load(tmp_path, clips["rotated"]).size == (48, 64)
    assert fresh_load(tmp_path, clips["sar"]).size == (128, 48)
    assert fresh_load(tmp_path, clips["ntsc"], "sound: false").audio is None


def test_start_end_and_a_rate_of_its_own_cut_the_clip(clips, tmp_path):
    part = fresh_load(tmp_path, clips["ntsc"], "start: 0.1, end: '0:00.3'")
    assert part.frame_count == 6  # frames at 0.1001 .. 0.2669 s
    assert part.audio.offset == pytest.approx(3 * 1001 / 30000)
    assert fresh_load(tmp_path, clips["ntsc"], fps="12").frame_count == 5  # 0.4 s at 12 fps
    assert fresh_load(tmp_path, clips["ntsc"], frames="7").frame_count == 7


@pytest.mark.parametrize(
    "clip, video, lines, message",
    [
        ("missing", "", {}, "video.file: .*missing.mp4 not found"),
        ("broken", "", {}, "video.file: cannot use .*broken.mp4"),
        ("sound", "", {}, "no video stream \\(only sound\\)"),
        ("ntsc", "start: 2", {}, "video.start: 2 s is past the clip's last frame"),
        ("ntsc", "end: 9", {}, "video.end: 9 s is past the clip's end"),
        ("ntsc", "start: 0.3, end: 0.2", {}, "end: 0.2 s is not after start 0.3 s"),
        ("ntsc", "", {"frames": "40"}, "frames: 40 frames .* holds \\(12 frames"),
        ("sar", "", {"motion": "{zoom: '1 + 0.01 * bass'}"}, "'bass' needs an audio section.*has no sound of its own"),
        ("ntsc", "cuts: [frame]", {}, "'frame' is not a time"),
    ],
)
def test_unusable_clips_and_cuts_are_one_line_before_rendering(clips, tmp_path, clip, video, lines, message):
    path = clips.get(clip, tmp_path / "missing.mp4")
    with pytest.raises(ConfigError, match=message) as caught:
        fresh_load(tmp_path, path, video, **lines)
    assert "\n" not in str(caught.value)


def test_sound_formulas_hear_the_clip(clips, tmp_path):
    from zoomdream.engine.plan import Planner, sound_features

    config = fresh_load(tmp_path, clips["ntsc"], motion="{zoom: '1 + 0.05 * level'}")
    zoom = Planner(config, sound_features(config)).tables["motion.zoom"][: config.frame_count]
    assert zoom.max() > 1.0


# -- decoding -----------------------------------------------------------------------------------


def test_decoding_seeks_exactly_to_any_frame(clips):
    from zoomdream.config.video import Footage, window
    from zoomdream.sources.video import Clip

    part = window(Footage(file=str(clips["ntsc"])))
    everything = Clip(clips["ntsc"], part, (64, 48), "cover")
    frames = [everything.frame(k).copy() for k in range(12)]
    assert len({f.tobytes() for f in frames}) > 6, "testsrc2 moves"
    for k in (11, 5, 1, 9, 3):  # backwards and forwards: every jump reopens ffmpeg with a seek
        jumper = Clip(clips["ntsc"], part, (64, 48), "cover")
        assert np.array_equal(jumper.frame(k), frames[k])
        assert np.array_equal(jumper.frame(min(k + 1, 11)), frames[min(k + 1, 11)])


@pytest.mark.parametrize("fit", ["cover", "contain", "stretch"])
def test_frames_come_upright_at_the_size_by_fit(clips, fit):
    from zoomdream.config.video import Footage, window
    from zoomdream.sources.video import Clip

    rotated = Clip(clips["rotated"], window(Footage(file=str(clips["rotated"]))), (64, 48), fit).frame(0)
    upright = Clip(clips["ntsc"], window(Footage(file=str(clips["ntsc"]))), (48, 64), "stretch").frame(0)
    assert rotated.shape == (48, 64, 3)
    assert upright.shape == (64, 48, 3)
    if fit == "contain":  # the whole upright picture (36x48) in the middle, mirrored at the sides: no black bars
        assert np.array_equal(rotated[:, 10:14], rotated[:, 14:18][:, ::-1])
    if fit == "stretch":  # the stored picture turned a quarter, as players show it
        turned = Clip(clips["rotated"], window(Footage(file=str(clips["rotated"]))), (48, 64), fit).frame(0).astype(int)
        stored = Clip(clips["ntsc"], window(Footage(file=str(clips["ntsc"]))), (64, 48), fit).frame(0)
        assert np.abs(turned - np.rot90(stored, 1)).mean() < 4


# -- the flow -----------------------------------------------------------------------------------


def photo(size=(160, 96), shift=(0.0, 0.0)) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(ROOT / "configs" / "coffee.jpg")), cv2.COLOR_BGR2RGB)
    matrix = np.float32([[1, 0, 100 - shift[0]], [0, 1, 100 - shift[1]]])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)


def test_flow_of_a_known_move_is_trusted_and_an_unrelated_frame_is_a_cut():
    earlier, later = photo(), photo(shift=(3.0, -2.0))  # the picture moves 3 px right, 2 px up
    flow = flows.estimate(earlier, later)
    inner = flow.trust[8:-8, 8:-8] > 0
    assert np.median(flow.backward[8:-8, 8:-8][inner], axis=0) == pytest.approx([-3.0, 2.0], abs=0.3)
    assert flow.share > 0.8 and not flow.cut
    assert flow.trust[:, :2].max() == 0, "what entered at the left edge came from outside the earlier frame"
    other = cv2.rotate(cv2.resize(photo((96, 160)), (96, 160)), cv2.ROTATE_90_CLOCKWISE)
    assert flows.estimate(earlier, np.ascontiguousarray(other[:, :, ::-1])).cut


def test_flow_is_the_same_whatever_the_thread_count():
    earlier, later = photo(), photo(shift=(1.5, 0.5))
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = flows.estimate(earlier, later)
        cv2.setNumThreads(max(2, threads))
        many = flows.estimate(earlier, later)
    finally:
        cv2.setNumThreads(threads)
    assert np.array_equal(one.backward, many.backward) and np.array_equal(one.trust, many.trust)


def test_an_occluding_object_is_not_trusted_where_it_uncovers_ground():
    earlier, later = photo(), photo(shift=(1.0, 0.0))
    for frame, x in ((earlier, 50), (later, 62)):  # a grey box moves 12 px right over the moving picture
        frame[30:60, x : x + 24] = np.array([40, 180, 90], np.uint8) + (np.indices((30, 24)).sum(0) % 7 * 9)[..., None]
    flow = flows.estimate(earlier, later)
    ys, xs = np.mgrid[30:60, 50:62]  # the box was here and left
    trusted = flow.trust[30:60, 50:62] > 0
    came_from = xs[trusted] + flow.backward[30:60, 50:62, 0][trusted], ys[trusted] + flow.backward[30:60, 50:62, 1][trusted]
    from_the_box = (came_from[0] > 49.5) & (came_from[0] < 73.5) & (came_from[1] > 29.5) & (came_from[1] < 59.5)
    assert not from_the_box.any(), "nothing of the box is carried onto the ground it uncovered"
    assert flow.trust[70:90, 10:40].mean() > 0.9


# -- the source ---------------------------------------------------------------------------------


def source_of(config):
    return Renderer(config).source


def test_cuts_are_found_and_can_be_set(clips, tmp_path):
    auto = source_of(fresh_load(tmp_path, clips["cut"], "carry: 1", dream="{steps: 0}"))
    assert [t for t in range(1, 12) if auto.cut(t)] == [6] and auto.found == [6]
    assert float(auto.kept(6)[0]) == 0.0 and float(auto.kept(5)[0]) == 1.0
    x = torch.rand(1, 3, 48, 64)
    move = auto.motion.move(6)
    fresh = auto.fresh(6, x, x, move, torch.zeros(1, dtype=torch.float64))
    assert torch.equal(fresh, auto.picture(6)[0]), "the first frame of a shot takes nothing from the old one"
    assert float(known_share(move)) == 0.0
    assert auto.interval(3, 8) == (3, False) and auto.interval(6, 4) == (4, True), "dream_every's intervals end at a cut"
    chosen = source_of(fresh_load(tmp_path, clips["cut"], "cuts: [3, '0.375s']", dream="{steps: 0}"))
    assert [t for t in range(1, 12) if chosen.cut(t)] == [3, 9]
    none = source_of(fresh_load(tmp_path, clips["cut"], "cuts: []", dream="{steps: 0}"))
    assert not any(none.cut(t) for t in range(1, 12))


def test_the_flow_measured_ahead_for_a_gpu_is_the_flow_measured_in_turn(clips, tmp_path):
    """A GPU's render measures the next frame's flow on a thread while this one is dreamed: the same
    flows and cuts, frame for frame, as measuring each in turn on the CPU."""
    from zoomdream.sources.video import footage

    config = fresh_load(tmp_path, clips["cut"], dream="{steps: 0}")
    renderer = Renderer(config)
    ahead = footage(config, renderer.planners, camera_path(renderer.planners, config.size), ahead=True)
    try:
        for t in range(1, 12):
            theirs, mine = ahead.flow(t), renderer.source.flow(t)
            assert all(torch.equal(a, b) for a, b in zip((theirs.backward, theirs.forward, theirs.trust), (mine.backward, mine.forward, mine.trust))), t
            assert ahead.cut(t) == renderer.source.cut(t)
            assert set(ahead._pending) <= {t + 1}, "one frame ahead, no further"
        assert ahead.found == [6] and ahead._thread is not None
    finally:
        ahead.close()
        renderer.close()


def known_share(move):
    from zoomdream.motion.sampler import known

    return known(move, torch.zeros(1, 3, 48, 64)).mean()


def test_carry_zero_takes_the_fresh_frame_and_carry_one_keeps_the_dream(clips, tmp_path):
    config = fresh_load(tmp_path, clips["ntsc"], "carry: '0:(0), 4:(0), 5:(1)'", dream="{steps: 0}")
    source = source_of(config)
    added = []
    for t in (2, 7):
        before = source.picture(t - 1)[0] * 0.8 + 0.1  # a "dream" that lowers the contrast
        move = source.motion.move(t)
        fresh = source.fresh(t, before, before, move, torch.zeros(1, dtype=torch.float64))
        added.append(float((fresh - source.picture(t)[0]).abs().mean()))
    assert added[0] == 0.0 and added[1] > 0.02
    before, dreamed = torch.full((1, 3, 48, 64), 0.4), torch.full((1, 3, 48, 64), 0.6)
    for t, kept in ((2, 0.0), (7, 1.0)):  # afresh: this frame's dream; all carried: the carried dream stays
        path = source.motion.move(t)
        settled = source.settle(t, 1, path, before, dreamed)
        trusted = known_share(path).item()
        assert settled.mean().item() == pytest.approx(0.6 - 0.2 * kept * trusted, abs=1e-4)


def test_the_camera_looks_into_the_clip_along_its_whole_path(clips, tmp_path):
    config = fresh_load(tmp_path, clips["still"], motion="{zoom: 1.1}", dream="{steps: 0}", color="{mode: none}")
    source = source_of(config)
    view = source.motion.view(3)
    assert torch.allclose(view.theta[0, :, :2], torch.eye(2, dtype=torch.float64) / 1.1**3)
    move = source.motion.move(3)  # a still clip: the move is the camera's own step
    from zoomdream.motion.sampler import grid

    camera = grid(source.motion.camera.move(3), [1, 3, 64, 96])
    assert (move.grid([1, 3, 64, 96]) - camera).abs()[:, 4:-4, 4:-4].max() < 0.02


# -- renders ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_clip_renders_to_its_frames_rate_and_sound(clips, tmp_path):
    result = render(footage_recipe(tmp_path, clips["ntsc"]))
    video = result.videos[0]
    probe = ffmpeg.probe_video(video)
    assert probe.rate == Fraction(30000, 1001) and len(decode(video)) == 12 and probe.audio == ("stereo",)
    samples, _ = ffmpeg.decode_audio(video, 0.0, 8000)
    assert len(samples) / 8000 == pytest.approx(12 * 1001 / 30000, abs=0.03)
    assert len(pngs(result.folder)) == 12
    lines = look(result.folder)
    assert any(line.strip().startswith("boil") for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("clip, layout", [("surround", "5.1"), ("eight", "stereo")])
def test_the_clips_sound_comes_out_in_a_layout_every_player_plays(clips, tmp_path, clip, layout):
    result = render(footage_recipe(tmp_path, clips[clip], frames="2", output=f"{{dir: {tmp_path / 'out'}}}"))
    assert ffmpeg.probe_video(result.videos[0]).audio == (layout,)


@pytest.mark.slow
def test_a_footage_render_resumes_bit_for_bit(clips, tmp_path):
    lines = {"motion": "{zoom: 1.02, rotate: 1}", "output": "{{dir: {}, frames: {{bit_depth: 16}}, checkpoint_every: 2}}"}
    whole = render(footage_recipe(tmp_path, clips["cut"], "whole", output=lines["output"].format(tmp_path / "whole"),
                                  motion=lines["motion"]))  # fmt: skip
    cut = footage_recipe(tmp_path, clips["cut"], "cut", output=lines["output"].format(tmp_path / "cut"), motion=lines["motion"])
    stop = StopAt(6)  # the first frame of the second shot
    with pytest.raises(Interrupted):
        render(cut, events=stop, stop=stop)
    resumed = render(cut, resume=True)
    assert pngs(resumed.folder) == pngs(whole.folder) and len(pngs(whole.folder)) == 12


@pytest.mark.slow
def test_preview_and_variants_render_over_footage(clips, tmp_path):
    recipe = footage_recipe(tmp_path, clips["ntsc"], frames="4",
                            extra="variants:\n  - {name: still}\n  - {name: push, motion: {zoom: 1.05}}\n")  # fmt: skip
    result = render(recipe)
    assert [len(decode(v)) for v in result.videos] == [4, 4]
    a, b = (np.stack(read_pngs(folder)).astype(int) for folder in result.frame_dirs)
    assert np.abs(a[0] - b[0]).mean() < 2 and np.abs(a[3] - b[3]).mean() > 5, "the same clip, one camera pushes in"
    preview = render(footage_recipe(tmp_path, clips["ntsc"], "single", frames="4"), preview=True)
    assert len(decode(preview.video)) == 4
