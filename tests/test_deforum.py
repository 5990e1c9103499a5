import json
import math
import re
from pathlib import Path

import cv2
import imageio_ffmpeg
import numexpr
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from zoomdream.config import load_config
from zoomdream.deforum import DeforumError, convert, convert_file
from zoomdream.errors import ZoomdreamError
from zoomdream.motion import affine, warp
from zoomdream.schedules.keyframes import Clock, Schedule

DATA = Path(__file__).parent / "data"
FILE_2D = DATA / "20240302114517_settings.txt"
FILE_3D = DATA / "20240307201233_settings.txt"
LEGACY = DATA / "legacy_2d_settings.txt"
STUDIO = DATA / "studio_width_height_settings.txt"  # Deforum Studio: width/height, CRLF
PAST_2D = DATA / "past_max_frames_2d_settings.txt"
PAST_3D = DATA / "past_max_frames_3d_settings.txt"  # CRLF
TZ_KEYS = DATA / "translation_z_keys_settings.txt"
FOV_KEYS = DATA / "fov_keys_settings.txt"  # CRLF
ODD = DATA / "odd_syntax_settings.txt"
ZOOM_ZERO = DATA / "zoom_zero_settings.txt"
ZOOM_TWO_COLONS = DATA / "zoom_two_colons_settings.txt"  # CRLF
STILL = DATA / "still_image_settings.txt"  # the notebook's settings for a picture, CRLF
MODE_NONE = DATA / "animation_mode_none_settings.txt"
ANIMATIONS = [FILE_2D, FILE_3D, LEGACY, STUDIO, PAST_2D, PAST_3D, TZ_KEYS, FOV_KEYS, ODD]
CARRIED = {"W", "H", "seed", "batch_name", "max_frames", "fps", "animation_mode", "diffusion_cadence",
           "noise_schedule", "color_coherence"}
CARRIED_2D = CARRIED | {"zoom", "angle", "translation_x", "translation_y", "transform_center_x", "transform_center_y"}
CARRIED_3D = CARRIED | {"translation_x", "translation_y", "translation_z", "rotation_3d_x", "rotation_3d_y",
                        "rotation_3d_z", "fov_schedule"}


def recipe(path):
    text = convert_file(path)
    return text, yaml.safe_load(text)


def not_carried(text):
    return [re.match(r"# not carried: (\S+) = ", line).group(1)
            for line in text.splitlines() if line.startswith("# not carried: ")]


def settings(**changes):
    base = json.loads(FILE_2D.read_text())
    base.update(changes)
    return base


def test_2d_file_carries_size_timing_motion_noise_and_colour():
    text, config = recipe(FILE_2D)
    assert config["name"] == "Spiral-Garden-20240302114517", "batch_name with Deforum's {timestring} filled in"
    assert config["size"] == [640, 360] and config["frames"] == 144 and config["fps"] == 24
    assert config["motion"] == {
        "zoom": "0: (1.0025+0.002*sin(1.25*3.14*t/30))",
        "rotate": "0: (0.4), 72: (-0.4)",
        "pan_x": 2.0,
        "pan_y": -1.5,
        "center": [0.5, 0.45],  # the key at 144 is past the last frame (143): Deforum ignores it
        "dream_every": 2,
    }
    assert "transform_center_x: key 144 lies outside frames 0 to 143" in text
    assert config["dream"] == {"noise": 0.04}
    assert config["color"] == {"mode": "histogram", "space": "lab", "reference": "first_frame", "strength": 1.0}
    assert "size: [640, 360]" in text and "color: {mode: histogram" in text, "short values stay on one line"


def test_random_seed_is_fixed_repeatably_and_said_so():
    text, config = recipe(FILE_2D)
    assert json.loads(FILE_2D.read_text())["seed"] == -1
    assert 0 <= config["seed"] < 2**32 and recipe(FILE_2D)[1]["seed"] == config["seed"]
    assert f"fixed to {config['seed']}" in text
    assert convert(settings(max_frames=145), "x").config["seed"] != config["seed"], "another file, another seed"
    assert convert(settings(seed=77), "x").config["seed"] == 77


def test_every_setting_not_carried_is_listed_once_on_its_own_line():
    text, _ = recipe(FILE_2D)
    listed = not_carried(text)
    assert sorted(listed) == sorted(set(json.loads(FILE_2D.read_text())) - CARRIED_2D)
    lines = text.splitlines()
    assert '# not carried: strength_schedule = "0: (0.65)" (no img2img strength in zoomdream)' in lines
    assert '# not carried: contrast_schedule = "0: (1.0)" (zoomdream has no contrast control)' in lines
    assert any(line.startswith("# not carried: prompts = {") for line in lines)
    assert "# not carried: translation_z = \"0: (1.75)\" (3D mode only; this file is animation_mode 2D)" in lines
    header = lines[: lines.index("name: Spiral-Garden-20240302114517")]
    assert all(line.startswith("#") for line in header), "the list is a comment block above the recipe"


def test_3d_file_maps_the_camera_through_deforums_projection():
    text, config = recipe(FILE_3D)
    k = math.tan(math.radians(40) / 2)
    motion = config["motion"]
    assert config["size"] == [768, 432] and "770 x 432 became 768 x 432" in text
    assert motion["tilt_x"] == 0.5 and motion["tilt_y"] == "0: (-1*cos(3.14*t/30))"
    assert motion["rotate"] == pytest.approx(0.7 / k, rel=1e-5)
    assert motion["pan_y"] == pytest.approx(432 / (400 * k) * -2, rel=1e-5)
    pan_x = re.fullmatch(r"0: \(0\), 30: \((.+)\)", motion["pan_x"])
    assert float(pan_x.group(1)) == pytest.approx(-768 / (400 * k) * 4, rel=1e-5)
    tz = "10+5*sin(2*3.14*t/45)"
    assert motion["zoom"] == f"0: (1/(1-({tz})/((200-({tz}))*{k:.6g})))", "an expression is wrapped, not evaluated"
    assert "center" not in motion
    assert config["color"]["space"] == "lab" and "HSV; approximated in LAB" in text
    assert sorted(not_carried(text)) == sorted(set(json.loads(FILE_3D.read_text())) - CARRIED_3D)
    assert '# not carried: zoom = "0: (1.5)" (2D mode only; this file is animation_mode 3D)' in text.splitlines()


def deforum_3d_sampling(w, h, fov, tx=0.0, ty=0.0, tz=0.0, rz=0.0):
    """Where Deforum's transform_image_3d samples, for flat depth (pytorch3d's FoV camera, written out)."""
    k = math.tan(math.radians(fov) / 2)
    y, x = torch.meshgrid(torch.linspace(-1, 1, h, dtype=torch.float64), torch.linspace(-1, 1, w, dtype=torch.float64),
                          indexing="ij")
    world = torch.stack([x.flatten(), y.flatten(), torch.ones(h * w, dtype=torch.float64)], 1)
    c, s = math.cos(math.radians(rz)), math.sin(math.radians(rz))
    rotation = torch.tensor([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=torch.float64)
    translate = torch.tensor([-tx / 200, ty / 200, -tz / 200], dtype=torch.float64)

    def project(view):
        return view[:, :2] / (k * view[:, 2:])

    offset = project(world @ rotation + translate) - project(world)
    identity = F.affine_grid(torch.eye(2, 3, dtype=torch.float64)[None], [1, 1, h, w], align_corners=False)
    return identity - offset.reshape(1, h, w, 2)


@pytest.mark.parametrize("move", [{"translation_z": 6.0}, {"translation_x": 3.0, "translation_y": -2.0},
                                  {"rotation_3d_z": 1.5}, {"translation_z": -4.0, "rotation_3d_z": -0.8}])
def test_3d_conversion_samples_where_deforums_warp_samples(move):
    w, h = (64, 64) if "rotation_3d_z" in move else (96, 48)
    still = dict.fromkeys(["translation_x", "translation_y", "translation_z", "rotation_3d_z"], 0.0)
    source = settings(animation_mode="3D", W=w, H=h, fov_schedule="0: (70)",
                      **{key: f"0: ({value})" for key, value in {**still, **move}.items()})
    motion = convert(source, "x").config["motion"]
    t = lambda name, default=0.0: torch.tensor([float(motion.get(name, default))])  # noqa: E731
    theta = affine(t("zoom", 1.0), t("rotate"), t("pan_x"), t("pan_y"), t("", 0.5), t("", 0.5), (w, h))
    ours = F.affine_grid(theta, [1, 1, h, w], align_corners=False)
    theirs = deforum_3d_sampling(w, h, 70, move.get("translation_x", 0), move.get("translation_y", 0),
                                 move.get("translation_z", 0), move.get("rotation_3d_z", 0))
    pixels = torch.tensor([w / 2, h / 2], dtype=torch.float64)
    error = ((ours - theirs) * pixels).abs()[:, 4:-4, 4:-4].max()
    moved = ((theirs - F.affine_grid(torch.eye(2, 3)[None].double(), [1, 1, h, w], align_corners=False)) * pixels)
    assert moved.abs().max() > 1, "the move is big enough for a sign error to show"
    assert error < 0.1, f"sampling positions differ by {error:.3f} px"


def test_2d_motion_moves_pixels_like_deforums_cv2_warp():
    w, h = 96, 64
    source = settings(W=w, H=h, zoom="0: (1.06)", angle="0: (4)", translation_x="0: (3)", translation_y="0: (-2)",
                      transform_center_x="0: (0.4)", transform_center_y="0: (0.55)")
    m = convert(source, "x").config["motion"]
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 3)
    rot = np.vstack([cv2.getRotationMatrix2D((w * 0.4, h * 0.55), 4, 1.06), [0, 0, 1]])
    trans = np.array([[1, 0, 3], [0, 1, -2], [0, 0, 1]], dtype=np.float64)
    theirs = cv2.warpPerspective(image, rot @ trans, (w, h), borderMode=cv2.BORDER_REPLICATE)

    def ours(pan_sign):
        t = lambda v: torch.tensor([float(v)])  # noqa: E731
        theta = affine(t(m["zoom"]), t(m["rotate"]), t(pan_sign * m["pan_x"]), t(pan_sign * m["pan_y"]),
                       t(m["center"][0]), t(m["center"][1]), (w, h))
        x = torch.from_numpy(image).permute(2, 0, 1)[None]
        return warp(x, theta)[0].permute(1, 2, 0).numpy()

    inside = (slice(10, -10), slice(10, -10))
    assert np.abs(ours(1)[inside] - theirs[inside]).mean() < 0.002
    assert np.abs(ours(-1)[inside] - theirs[inside]).mean() > 0.01, "a flipped pan would show"


def test_legacy_file_names_and_missing_fps():
    text, config = recipe(LEGACY)
    assert config["color"]["space"] == "rgb" and config["motion"]["dream_every"] == 1, "cadence saved as '1'"
    assert config["fps"] == 15 and "Deforum's default 15" in text
    assert config["motion"]["pan_x"] == "0:(10*sin(2*3.14*t/10))" and config["motion"]["zoom"] == 1.04
    assert config["name"] == "Deforum" and config["seed"] == 1234


@pytest.mark.parametrize("coherence, color, listed", [
    ("None", {"mode": "none"}, False),
    ("RGB", {"mode": "histogram", "space": "rgb", "reference": "first_frame", "strength": 1.0}, False),
    ("Match Frame 0 LAB", {"mode": "histogram", "space": "lab", "reference": "first_frame", "strength": 1.0}, False),
    ("Video Input", {"mode": "none"}, True),
])
def test_colour_coherence(coherence, color, listed):
    result = convert(settings(color_coherence=coherence), "x")
    assert result.config["color"] == color
    assert ("color_coherence" in result.dropped) is listed


def test_modes_without_camera_motion_keep_the_camera_still():
    result = convert(settings(animation_mode="Video Input"), "x")
    assert result.config["motion"]["zoom"] == 1.0 and set(result.config["motion"]) == {"zoom", "dream_every"}
    assert {"zoom", "angle", "translation_x", "rotation_3d_z"} <= result.dropped.keys()


def test_names_are_sanitised():
    assert convert(settings(batch_name="my run: 2/3 {timestring}"), "42_settings").config["name"] == "my-run-2-3-42"
    assert convert(settings(batch_name=""), "night drive").config["name"] == "night-drive"
    assert convert(settings(batch_name="{timestring}"), "???").config["name"] == "deforum"


def test_sizes_are_clamped_to_zoomdream_limits():
    assert convert(settings(W=20000, H=20), "x").config["size"] == [8192, 32]


def test_cli_prints_the_recipe_and_writes_it_only_once(cli, tmp_path):
    code, out, err = cli("from-deforum", FILE_3D)
    assert code == 0 and out == convert_file(FILE_3D) and not err
    target = tmp_path / "tunnel.yaml"
    assert cli("from-deforum", FILE_3D, "-o", target)[0] == 0
    assert target.read_text() == out
    target.write_text("mine")
    code, out, err = cli("from-deforum", FILE_2D, "-o", target)
    assert code == 2 and target.read_text() == "mine"
    assert err == f"zoomdream: error: {target}: already exists; pass --force to replace it\n"
    assert cli("from-deforum", FILE_2D, "-o", target, "--force")[0] == 0
    assert yaml.safe_load(target.read_text())["name"] == "Spiral-Garden-20240302114517"


@pytest.mark.parametrize("content, message", [
    (None, "not found; give the *_settings.txt"),
    (b"\xff\xfe{", "is not UTF-8 text"),
    ('{"W": 512, "max_frames": ', "not valid JSON"),
    ('["W", 512]', "not a Deforum settings file"),
    ('{"W": 512, "H": 512, "prompt": "a cat"}', "not a Deforum settings file"),
    ('{"animation_mode": "2D", "max_frames": "many"}', "max_frames: expected a number"),
    ('{"animation_mode": "2D", "max_frames": 10, "zoom": "1.02 then faster"}', "zoom: "),
    ('{"animation_mode": "3D", "max_frames": 10, "translation_z": "0: (200)"}', "translation_z: 200 has no"),
])
def test_cli_bad_input_is_one_line_and_exit_2(cli, tmp_path, content, message):
    path = tmp_path / "run_settings.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = cli("from-deforum", path)
    assert code == 2 and not out
    assert err.startswith(f"zoomdream: error: {path}: ") and message in err and err.count("\n") == 1


# Needs the lead's merge: motion.tilt_x/tilt_y, color.mode/space/reference, dream.noise and the
# schedule parser that reads Deforum expressions such as "0: (1.0025+0.002*sin(1.25*3.14*t/30))".
@pytest.mark.slow
@pytest.mark.parametrize("path", [FILE_2D, FILE_3D])
def test_converted_recipe_loads_and_renders(cli, tmp_path, path):
    target = tmp_path / "recipe.yaml"
    assert cli("from-deforum", path, "-o", target)[0] == 0
    tiny = ["size=[64, 64]", "frames=3", "model.name=efficientnet_lite0", "dream.objective=null",
            f"output.dir={tmp_path / 'out'}"]
    config = load_config(target, tiny)
    assert config.frame_count == 3
    code, _, err = cli("render", target, "--quiet", *(a for o in tiny for a in ("--set", o)))
    assert code == 0, err
    video = next((tmp_path / "out").glob("*.mp4"))
    reader = imageio_ffmpeg.read_frames(str(video))
    assert next(reader)["size"] == (64, 64) and len(list(reader)) == 3


def test_legacy_recipe_loads(tmp_path):  # needs the same merge as the test above
    target = tmp_path / "legacy.yaml"
    target.write_text(convert_file(LEGACY))
    config = load_config(target)
    assert config.frame_count == 60 and config.size == (512, 512) and config.seed == 1234


# Deforum's keyframe semantics, written for these tests from its animation_key_frames.py
# (FrameInterpolater, 2023 on) and independent of zoomdream.deforum: split on commas, then on
# colons (the value is what stands between the first and second colon); keys are whole numbers or
# numexpr formulas of max_f and s (the seed); only frames 0..max_frames-1 are read; a plain decimal
# is interpolated linearly, anything else is evaluated by numexpr at every frame to the next key.
DEFORUM_NUMBER = re.compile(r"^(?=.)[+-]?[0-9]*(\.[0-9]+)?$")


def bare(text):
    return re.sub(r"[\"'()]", "", text)


def deforum_series(schedule, max_frames, seed):
    if not isinstance(schedule, str):
        schedule = f"0: ({schedule})"
    names = {"max_f": max_frames - 1, "s": seed}
    keys = {}
    for part in schedule.split(","):
        fields = part.split(":")
        if DEFORUM_NUMBER.match(bare(fields[0]).strip()):
            frame = int(bare(fields[0]))
        else:
            frame = int(numexpr.evaluate(fields[0].strip().strip("\"'"), local_dict=names))
        keys[frame] = fields[1].strip()
    series, formula = np.full(max_frames, np.nan), None
    for i in range(max_frames):
        if i in keys:
            formula = None if DEFORUM_NUMBER.match(bare(keys[i])) else keys[i]
            if formula is None:
                series[i] = float(bare(keys[i]))
        if formula is not None:
            series[i] = float(numexpr.evaluate(formula, local_dict={**names, "t": i}))
    known = np.flatnonzero(~np.isnan(series))
    series[0], series[-1] = series[known[0]], series[known[-1]]
    known = np.flatnonzero(~np.isnan(series))
    return np.interp(np.arange(max_frames), known, series[known])


def deforum_camera(source, seed):
    """Deforum's per-frame camera: 2D as it is, 3D through the flat-depth formulas of the docstring."""
    n = source["max_frames"]

    def series(key, default="0: (0)"):
        return deforum_series(source.get(key, default), n, seed)

    if source["animation_mode"] == "2D":
        return {"zoom": series("zoom", "0: (1)"), "rotate": series("angle"), "pan_x": series("translation_x"),
                "pan_y": series("translation_y"), "center.0": series("transform_center_x", "0: (0.5)"),
                "center.1": series("transform_center_y", "0: (0.5)")}
    w, h = source.get("W", source.get("width")), source.get("H", source.get("height"))
    w, h = w - w % 8, h - h % 8
    k = np.tan(np.radians(series("fov_schedule" if "fov_schedule" in source else "fov", "0: (70)")) / 2)
    tz = series("translation_z")
    return {"zoom": 1 / (1 - tz / ((200 - tz) * k)), "pan_x": -w / (400 * k) * series("translation_x"),
            "pan_y": h / (400 * k) * series("translation_y"), "rotate": series("rotation_3d_z") / k,
            "tilt_x": series("rotation_3d_x"), "tilt_y": series("rotation_3d_y")}


def zoomdream_camera(config):
    """The converted recipe's camera at every frame, as zoomdream's schedules evaluate it."""
    n, motion = config["frames"], config["motion"]
    clock = Clock(config["fps"], n, {})
    specs = {name: motion.get(name, 0.0) for name in ("rotate", "pan_x", "pan_y", "tilt_x", "tilt_y")}
    specs.update({"zoom": motion["zoom"], "center.0": motion.get("center", [0.5, 0.5])[0],
                  "center.1": motion.get("center", [0.5, 0.5])[1]})
    return {name: Schedule.parse(spec, "linear").values(np.arange(n), clock) for name, spec in specs.items()}


TOLERANCE = {"zoom": 1e-3, "pan_x": 0.01, "pan_y": 0.01, "rotate": 0.01, "tilt_x": 0.01, "tilt_y": 0.01,
             "center.0": 1e-4, "center.1": 1e-4}


def camera_errors(path):
    """{move: (largest per-frame difference from Deforum, its frame)} for a settings file."""
    _, config = recipe(path)
    theirs = deforum_camera(json.loads(path.read_text()), config["seed"])
    ours = zoomdream_camera(config)
    return {name: (float(np.abs(ours[name] - want).max()), int(np.abs(ours[name] - want).argmax()))
            for name, want in theirs.items()}


@pytest.mark.parametrize("path", ANIMATIONS, ids=lambda path: path.name)
def test_the_converted_camera_moves_as_deforum_moves_at_every_frame(path):
    for name, (error, frame) in camera_errors(path).items():
        assert error <= TOLERANCE[name], f"{name} differs from Deforum's by {error:.3g} at frame {frame}"


def test_the_reference_sees_what_a_plain_reading_gets_wrong():
    """Reading Deforum's strings with zoomdream's own syntax misses by far more than the tolerance."""
    source, n = json.loads(PAST_3D.read_text()), 210
    plain = Schedule.parse(source["rotation_3d_y"]).values(np.arange(n), Clock(24, n, {}))
    assert deforum_series(source["rotation_3d_y"], n, 0)[209] == -2.8 and abs(plain[209] + 2.8) > 1
    source = json.loads(TZ_KEYS.read_text())
    k = math.tan(math.radians(70) / 2)
    keys = {60: 10, 108: 40}
    zooms = {f: 1 / (1 - tz / ((200 - tz) * k)) for f, tz in keys.items()}
    interpolated = zooms[60] + (zooms[108] - zooms[60]) * (84 - 60) / 48
    assert abs(deforum_camera(source, 0)["zoom"][84] - interpolated) > 0.01


def test_width_and_height_set_the_size_and_the_3d_pan():
    text, config = recipe(STUDIO)
    k = math.tan(math.radians(70) / 2)
    assert config["size"] == [1024, 576] and config["frames"] == 120
    assert config["motion"]["pan_x"] == pytest.approx(-1024 / (400 * k) * 2, rel=1e-5)
    assert not {"width", "height"} & set(not_carried(text))
    assert "\r\n" in STUDIO.read_bytes().decode(), "saved with Windows line endings"


def test_keys_past_max_frames_are_ignored_and_the_last_value_holds():
    text, config = recipe(PAST_2D)
    assert config["motion"]["rotate"] == 0.0 and config["motion"]["pan_x"] == 0.0
    assert config["motion"]["zoom"] == "0: (1.04), 90: (1)"
    assert "angle: key 130 lies outside frames 0 to 119 (max_frames 120) and is ignored" in text
    _, config = recipe(PAST_3D)
    tilt = zoomdream_camera(config)["tilt_y"]
    assert tilt[150] == pytest.approx(-2.8) and tilt[209] == pytest.approx(-2.8)


def test_translation_z_is_converted_frame_by_frame():
    _, config = recipe(TZ_KEYS)
    errors = camera_errors(TZ_KEYS)
    assert errors["zoom"][0] < 1e-5, "exact up to printed digits, not only at the keys"
    source = json.loads(TZ_KEYS.read_text())
    ours = np.prod(zoomdream_camera(config)["zoom"])
    theirs = np.prod(deforum_camera(source, config["seed"])["zoom"])
    assert ours == pytest.approx(theirs, rel=1e-4), "the whole render zooms as far as Deforum's"


def test_a_keyframed_fov_is_followed_frame_by_frame():
    text, config = recipe(FOV_KEYS)
    assert "fov_schedule followed frame by frame" in text
    assert "tan(" in config["motion"]["pan_x"] and "tan(" in config["motion"]["zoom"]


def test_what_deforum_reads_in_odd_syntax_is_what_the_recipe_does():
    text, config = recipe(ODD)
    camera = zoomdream_camera(config)
    assert camera["pan_x"][0] == 0 and camera["pan_x"][15] == pytest.approx(1), '"0: 0: (4)" is 0 at frame 0'
    assert camera["rotate"][78] < 3 and camera["rotate"][79] == 3, 'the key "max_f-10" is frame 79'
    assert camera["pan_y"][39] == pytest.approx(0.1) and camera["pan_y"][40] == 2, "1e-1 is a formula: held"
    assert camera["zoom"][30] == pytest.approx(1.03), "the later of two keys on a frame counts"
    assert "1234" in config["motion"]["center"][0], "s is the seed in Deforum's formulas"
    assert 'translation_x: Deforum reads "0: 0: (4)" as 0 at frame 0' in text


@pytest.mark.parametrize("path, message", [
    (ZOOM_ZERO, 'zoom: "0: (0)" gives a zoom of 0 at frame 0; zoomdream needs a zoom above 0.1'),
    (ZOOM_TWO_COLONS, 'zoom: "0: 0: (1.02)" gives a zoom of 0 at frame 0; zoomdream needs a zoom above 0.1'),
    (STILL, "these are a still image's settings"),
    (MODE_NONE, 'animation_mode: "None" means these are a still image\'s settings'),
], ids=lambda value: value.name if isinstance(value, Path) else "")
def test_settings_that_cannot_convert_are_refused_in_one_line(cli, tmp_path, path, message):
    target = tmp_path / "recipe.yaml"
    code, out, err = cli("from-deforum", path, "-o", target)
    assert code == 2 and not out and not target.exists()
    assert err.startswith(f"zoomdream: error: {path}: {message}") and err.count("\n") == 1
    if path in (STILL, MODE_NONE):
        assert "only Deforum animations" in err


@pytest.mark.parametrize("changes, message", [
    ({"zoom": "0: (1.02), 50: (1-t/40)"}, 'zoom: "0: (1.02), 50: (1-t/40)" gives a zoom of 0.0802 at frame 37; '
                                          "zoomdream needs a zoom above 0.1"),
    ({"translation_x": "0: (arccosh(t+1))"}, 'translation_x: "0: (arccosh(t+1))" cannot be carried: '),
    ({"angle": "0: (0), 90: (400)"}, 'angle: "0: (0), 90: (400)" gives a rotation of 364.444 at frame 82; '
                                     "zoomdream needs a rotation of at most 360"),
    ({"animation_mode": "3D", "translation_z": "0: (0), 60: (80)", "fov_schedule": "0: (70)"},
     'translation_z: "0: (0), 60: (80)" gives a zoom of '),
    ({"max_frames": 10, "zoom": "20: (1.02)"}, "zoom: \"20: (1.02)\" has no key inside the render (frames 0 to 9)"),
])
def test_a_recipe_zoomdream_would_refuse_is_never_returned(changes, message):
    with pytest.raises(DeforumError) as error:
        convert(settings(**changes), "x")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.parametrize("path", ANIMATIONS, ids=lambda path: path.name)
def test_every_converted_recipe_passes_check(cli, tmp_path, path):
    target = tmp_path / "recipe.yaml"
    assert cli("from-deforum", path, "-o", target)[0] == 0
    code, out, err = cli("check", target)
    assert code == 0 and out.startswith(f"{target}: ok"), err


def test_deforum_error_is_a_zoomdream_error():
    assert issubclass(DeforumError, ZoomdreamError) and issubclass(DeforumError, ValueError)
