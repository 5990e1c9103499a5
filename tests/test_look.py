import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image
from torchvision.transforms.functional import gaussian_blur

import zoomdream
from zoomdream import motion
from zoomdream.look import figures as look
from zoomdream.look import report

COFFEE = Path(__file__).parent.parent / "configs" / "coffee.jpg"


def camera(zoom=1.0, rotate=0.0, pan_x=0.0, pan_y=0.0, size=(64, 48)):
    values = [zoom, rotate, pan_x, pan_y, 0.5, 0.5]
    return motion.affine(*[torch.tensor([v], dtype=torch.float64) for v in values], size=size)


def scene(theta, size=(64, 48)):
    """A smooth colour texture seen through a camera: its exact picture, not a resampled one."""
    width, height = size
    grid = F.affine_grid(theta.float(), [1, 3, height, width], align_corners=False)
    x, y = grid[..., 0], grid[..., 1]
    channels = [0.5 + 0.3 * torch.sin(3 * x + 2 * y + k) * torch.cos(2 * y - k * x) for k in (0.0, 1.0, 2.0)]
    return torch.stack(channels, 1)


def test_grey_frame_has_no_colour_contrast_clipping_or_detail():
    figures = look.measure(torch.full((2, 3, 48, 64), 0.5))
    assert set(figures) == {"luma", "saturation", "contrast", "clip", "centroid"}, "no boil without a previous frame"
    for name, value in figures.items():
        assert value.shape == (2,)
    assert torch.allclose(figures["luma"], torch.tensor(0.5))
    assert figures["saturation"].abs().max() < 1e-6 and figures["contrast"].abs().max() < 1e-6
    assert figures["clip"].max() == 0 and figures["centroid"].max() == 0


def test_luma_weights_and_saturation_of_primaries():
    red, white = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    red[:, 0] = 1
    figures = look.measure(torch.cat([red, white]))
    assert figures["luma"].tolist() == pytest.approx([0.2126, 1.0], abs=1e-5)
    assert figures["saturation"].tolist() == pytest.approx([1.0, 0.0])
    assert figures["clip"].tolist() == pytest.approx([1.0, 1.0]), "black and white channels are pinned"


def test_lanes_are_measured_independently():
    frames = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    together = look.measure(frames)
    alone = look.measure(frames[1:])
    for name in together:
        assert together[name][1].item() == pytest.approx(alone[name][0].item(), rel=1e-5)


def test_centroid_of_a_stripe_pattern_is_its_frequency():
    columns = torch.arange(128, dtype=torch.float32)
    for period in (4, 8, 16):
        stripes = 0.5 + 0.4 * torch.sin(2 * math.pi * columns / period)
        frame = stripes.expand(1, 3, 96, 128)
        assert look.measure(frame)["centroid"].item() == pytest.approx(1 / period, rel=0.05)


def test_coarser_texture_has_a_lower_centroid():
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    fine = gaussian_blur(noise, 5, 1.0)
    coarse = gaussian_blur(noise, 25, 4.0)
    assert look.measure(coarse)["centroid"] < 0.6 * look.measure(fine)["centroid"]
    assert 0 < look.measure(noise)["centroid"] < 0.71


def test_a_camera_move_of_a_still_scene_does_not_boil_when_carried():
    theta = camera(zoom=1.04, rotate=2.0, pan_x=1.5)
    before, after = scene(camera()), scene(theta)
    carried, valid = look.carry(before, theta)
    boil = look.measure(after, carried, valid)["boil"].item()
    uncarried = look.measure(after, before)["boil"].item()
    assert boil < 0.004, "only resampling error is left"
    assert uncarried > 5 * boil and uncarried > 0.02


def test_pixels_the_camera_revealed_do_not_count():
    theta = camera(zoom=0.8)
    before, after = scene(camera()), scene(theta)
    carried, valid = look.carry(before, theta)
    assert valid.shape == (1, 1, 48, 64) and valid.dtype == torch.bool
    assert valid.float().mean().item() == pytest.approx(0.8 * 0.8, abs=0.05)
    assert valid[0, 0, 24, 32] and not valid[0, 0, 0, 0] and not valid[0, 0, 24, 0]
    masked = look.measure(after, carried, valid)["boil"].item()
    everywhere = look.measure(after, carried)["boil"].item()
    assert masked < 0.004 < everywhere, "the border is filled by reflection, not seen before"


def test_recorder_gives_plain_lists_per_lane_and_continues_after_resume():
    recorder = look.Recorder(["calm", "wild"])
    frames = torch.rand(3, 2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    recorder.add(look.measure(frames[0]))
    for previous, frame in zip(frames[:-1], frames[1:]):
        recorder.add(look.measure(frame, previous))
    curves = recorder.curves()
    assert set(curves) == {"calm", "wild"} and set(curves["calm"]) == set(look.CURVES)
    assert curves["calm"]["boil"][0] is None and all(isinstance(x, float) for x in curves["wild"]["boil"][1:])
    assert curves["wild"]["luma"][2] == pytest.approx(look.measure(frames[2])["luma"][1].item())
    json.dumps(curves)
    resumed = look.Recorder(["calm", "wild"], earlier=curves)
    resumed.add(look.measure(frames[0], frames[2]))
    again = resumed.curves()
    assert len(again["calm"]["luma"]) == 4 and again["calm"]["luma"][:3] == curves["calm"]["luma"]


def flat(n=100, **changes):
    curves = {"luma": [0.5] * n, "saturation": [0.3] * n, "contrast": [0.2] * n, "clip": [0.01] * n,
              "boil": [None] + [0.02] * (n - 1), "centroid": [0.12] * n}  # fmt: skip
    curves.update(changes)
    return curves


def words(curves):
    return {v.curve: v.word for v in look.verdicts(curves)}


def ramp(a, b, n=100):
    return [a + (b - a) * i / (n - 1) for i in range(n)]


def test_flat_curves_are_all_ok():
    assert words(flat()) == dict.fromkeys(look.CURVES, "ok")
    assert words(flat(3)) == dict.fromkeys(look.CURVES, "ok"), "a render of a few frames is judged too"


@pytest.mark.parametrize(
    "curve, values, word",
    [
        ("luma", ramp(0.5, 0.75), "drift"),
        ("luma", ramp(0.5, 0.32), "drift"),
        ("luma", [0.25] * 100, "drift"),
        ("saturation", ramp(0.3, 0.15), "grey-out"),
        ("saturation", ramp(0.3, 0.5), "burn"),
        ("contrast", ramp(0.2, 0.1), "grey-out"),
        ("clip", ramp(0.01, 0.08), "burn"),
        ("centroid", ramp(0.12, 0.07), "collapse"),
        ("boil", [None] + [0.07] * 99, "flicker"),
        ("boil", [None] + [0.02] * 60 + [0.09] + [0.02] * 38, "spikes"),
        ("boil", [None] + [0.01, 0.01, 0.01, 0.05] * 24 + [0.01] * 3, "spikes"),
    ],
)
def test_verdicts_fire_on_what_went_wrong(curve, values, word):
    found = words(flat(**{curve: values}))
    assert found[curve] == word
    assert all(w == "ok" for name, w in found.items() if name != curve)


def test_settling_after_the_start_is_no_spike():
    settling = [None] + [0.004 + 0.05 * 0.8**i for i in range(99)]
    assert words(flat(boil=settling))["boil"] == "ok"


def test_noise_being_dreamed_over_is_no_collapse():
    """A short render from noise: the centroid falls while the noise melts into motifs (boil high),
    then holds. Judged from where the boil has settled, it is ok; a fall after that still is not."""
    n = 96
    boil = [None] + [0.014 + 0.04 * 0.85**i for i in range(n - 1)]
    melting = [0.06 + 0.3 * 0.85**i for i in range(n)]  # 0.36 at frame 0, 0.13 at frame 9
    early, _ = look.spans(flat(n, boil=boil))
    assert 20 <= early.start <= 40 and len(early) == 10
    assert words(flat(n, boil=boil, centroid=melting))["centroid"] == "ok"
    assert look.spans(flat(n, centroid=melting))[0] == range(9, 19), "without settling boil frames 9-18 are early"
    falling = [m - (0.03 * max(0, i - 40) / 55) for i, m in enumerate(melting)]
    assert words(flat(n, boil=boil, centroid=falling))["centroid"] == "collapse"


def test_motifs_growing_to_their_size_are_no_collapse():
    """The quickstart's 96 frames: after the noise is dreamed over, the motifs grow (the centroid
    falls by a third) and then keep their size: not the detail melting, which keeps falling."""
    n = 96
    boil = [None] + [0.014 + 0.04 * 0.85**i for i in range(n - 1)]
    grown = [0.045 + 0.3 * 0.85**i + 0.03 * max(0.0, 1 - i / 70) for i in range(n)]  # level from frame 70
    verdict = next(v for v in look.verdicts(flat(n, boil=boil, centroid=grown)) if v.curve == "centroid")
    assert verdict.figure < look.COLLAPSE and verdict.word == "ok" and "grew to their size" in verdict.note
    melted = [0.12 * 0.45 ** (i / (n - 1)) for i in range(n)]  # to less than half, level or not
    assert words(flat(n, centroid=melted))["centroid"] == "collapse"


def test_verdict_carries_its_figure():
    verdict = next(v for v in look.verdicts(flat(centroid=ramp(0.12, 0.06))) if v.curve == "centroid")
    early, late = 0.12 - 0.06 * 14.5 / 99, 0.12 - 0.06 * 94.5 / 99  # mean of frames 10-19 and of 90-99
    assert verdict.figure == pytest.approx(late / early) and "cycles/px" in verdict.note


def render(tiny_config, *overrides):
    return zoomdream.render(zoomdream.load_config(tiny_config, list(overrides)))


def read_report(folder):
    png, jpg = Image.open(folder / "look.png"), Image.open(folder / "sheet.jpg")
    assert png.format == "PNG" and png.width >= 600 and png.height >= 600
    assert jpg.format == "JPEG" and jpg.width >= 64 and jpg.height >= 48
    assert np.asarray(png.convert("L")).std() > 10, "the plot has ink on it"
    return json.loads((folder / "look.json").read_text())


@pytest.mark.slow
def test_look_reports_a_render_from_its_frames_and_from_its_video(cli, tiny_config, tmp_path):
    result = render(tiny_config, "frames=6", "motion.zoom=1.05", "output.frames.bit_depth=16")
    code, out, err = cli("look", result.folder)
    assert code == 0, err
    for curve in look.CURVES:
        assert f"  {curve} " in out
    assert "6 frames from frames/*.png" in out
    record = read_report(result.folder)
    assert Image.open(result.folder / "sheet.jpg").size == (4 * 68 + 4, 2 * 52 + 4), "all 6 frames, 4 to a row"
    assert len(record["curves"]["luma"]) == 6 and record["curves"]["boil"][0] is None
    assert {v["curve"] for v in record["verdicts"]} == set(look.CURVES)
    shutil.rmtree(result.folder / "frames")
    code, out, _ = cli("look", result.folder, "--frames", "2")
    decoded = read_report(result.folder)
    assert code == 0 and "from tiny.mp4" in out
    assert Image.open(result.folder / "sheet.jpg").size == (2 * 68 + 4, 52 + 4), "the first and the last frame"
    assert np.allclose(decoded["curves"]["luma"], record["curves"]["luma"], atol=0.02), "the video shows the same frames"


def test_look_reads_the_video_of_the_render_s_codec(cli, tiny_config):
    """A ProRes render is a .mov: the report finds it, as it finds an .mp4."""
    result = render(tiny_config, "frames=4", "dream.steps=0", "output.frames=null", "output.video.codec=prores")
    assert result.video.suffix == ".mov"
    code, out, err = cli("look", result.folder)
    assert code == 0, err
    assert "4 frames from tiny.mov" in out and len(read_report(result.folder)["curves"]["luma"]) == 4


@pytest.mark.slow
def test_look_rebuilds_the_camera_of_each_lane(cli, tiny_config):
    still = ["dream.steps=0", "color.match=none", f"start.image={COFFEE}", "frames=5"]
    lanes = "variants=[{name: moving, motion: {zoom: 1.1, rotate: 3}}, {name: told-wrong, motion: {zoom: 1.1, rotate: 3}}]"
    result = render(tiny_config, *still, lanes)
    recorded = yaml.safe_load((result.folder / "config.yaml").read_text())
    recorded["variants"][1]["motion"]["zoom"] = 0.9
    (result.folder / "config.yaml").write_text(yaml.safe_dump(recorded))
    code, out, err = cli("look", result.folder)
    assert code == 0, err
    assert "moving: 5 frames" in out and "told-wrong: 5 frames" in out
    right = read_report(result.folder / "moving")["curves"]["boil"][1:]
    wrong = read_report(result.folder / "told-wrong")["curves"]["boil"][1:]
    assert max(right) < 0.03 and min(wrong) > 2 * max(right), "boil is what moved beyond the camera"
    code, out, _ = cli("look", result.folder / "moving")
    assert code == 0 and "moving: 5 frames" in out and "told-wrong" not in out


@pytest.mark.parametrize("what", ["folder", "config", "frames"])
def test_look_at_something_that_is_no_render_is_one_line(cli, tiny_config, tmp_path, what):
    folder = tmp_path / "empty"
    if what != "folder":
        folder.mkdir()
    if what == "frames":
        (folder / "config.yaml").write_text(Path(tiny_config).read_text())
    code, out, err = cli("look", folder)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("zoomdream: error: ") and str(folder) in err and "Traceback" not in err


def test_axis_ticks_are_round_frame_numbers():
    assert report.ticks(1000) == [0, 200, 400, 600, 800]
    assert report.ticks(96) == [0, 20, 40, 60, 80]
    assert report.ticks(3) == [0, 1, 2]
