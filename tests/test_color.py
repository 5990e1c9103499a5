import io
import math
from typing import get_args

import pytest
import torch

from zoomdream.config import differences, fingerprint
from zoomdream.dream.color import MAX_CONTRAST_STEP, MODES, SPACES, ColorCoherence, ColorSettings, lab_to_rgb, rgb_to_lab
from zoomdream.config import Color, ConfigError, load_config

ONE = torch.ones(1, dtype=torch.float64)
LEVELS = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95])


def rand(*shape, seed):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def quantiles(x):
    """Per-lane, per-channel quantiles at LEVELS, (B, 3, 5)."""
    return torch.quantile(x.flatten(2), LEVELS, dim=-1).permute(1, 2, 0)


def stats(x):
    flat = x.flatten(2)
    return flat.mean(-1), flat.std(-1)


def to_image(settings=None, image=None, every=1):
    return ColorCoherence([ColorSettings(**(settings or {}), reference="image", image=image)], every)


# ---- modes ------------------------------------------------------------------------------------


def test_histogram_at_full_strength_gives_the_reference_distribution():
    reference = rand(1, 3, 64, 64, seed=1) ** torch.tensor([3.0, 1.0, 0.3]).view(1, 3, 1, 1)
    frame = 0.4 + 0.1 * rand(1, 3, 64, 64, seed=2)
    out = to_image({"mode": "histogram"}, reference)(frame, ONE)
    assert (quantiles(out) - quantiles(reference)).abs().max() < 0.01
    assert (quantiles(frame) - quantiles(reference)).abs().max() > 0.3  # it had far to go


def test_histogram_keeps_the_order_of_values_and_flat_areas_flat():
    reference = rand(1, 3, 64, 64, seed=3)
    frame = rand(1, 3, 64, 64, seed=4)
    frame[..., :16, :16] = 0.3  # a flat patch
    out = to_image({"mode": "histogram"}, reference)(frame, ONE)
    flat = out[..., :16, :16].flatten(2)
    assert torch.equal(flat.amin(-1), flat.amax(-1))
    order = frame.flatten(2).argsort(-1)
    assert (out.flatten(2).gather(-1, order).diff(dim=-1) >= -1e-6).all()


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("space", sorted(SPACES))
def test_strength_zero_is_identity_and_half_is_halfway(mode, space):
    reference = 0.2 + 0.3 * rand(1, 3, 32, 32, seed=5) ** 2  # near enough that nothing is clipped
    frame = 0.3 + 0.4 * rand(1, 3, 32, 32, seed=6)
    coherence = to_image({"mode": mode, "space": space}, reference)
    assert torch.equal(coherence(frame, torch.zeros(1, dtype=torch.float64)), frame)
    full = coherence(frame, ONE)
    half = coherence(frame, torch.tensor([0.5], dtype=torch.float64))
    assert (full - frame).abs().mean() > 0.05
    assert torch.allclose(half, (frame + full) / 2, atol=1e-6)


def test_mean_std_at_full_strength_matches_reference_stats():
    reference = rand(1, 3, 32, 32, seed=7)
    frame = 0.5 + 0.6 * (rand(1, 3, 32, 32, seed=8) - 0.5)  # within one contrast step of the reference
    out = to_image({"mode": "mean_std"}, reference)(frame, ONE)
    assert torch.allclose(stats(out)[0], stats(reference)[0], atol=2e-3)
    assert torch.allclose(stats(out)[1], stats(reference)[1], rtol=0.05)


def test_mean_std_contrast_step_is_bounded():
    """A flat frame stays flat (no noise blown up) and takes the reference's mean; a nearly flat
    one gains at most MAX_CONTRAST_STEP of contrast per frame."""
    reference = rand(1, 3, 32, 32, seed=9)
    flat = torch.full((1, 3, 32, 32), 0.8)
    out = to_image({"mode": "mean_std"}, reference)(flat, ONE)
    assert out.flatten(2).std(-1).max() == 0
    assert torch.allclose(out[..., 0, 0], stats(reference)[0], atol=1e-5)
    faint = 0.5 + 0.01 * rand(1, 3, 32, 32, seed=10)
    out = to_image({"mode": "mean_std"}, reference)(faint, ONE)
    assert torch.allclose(stats(out)[1], MAX_CONTRAST_STEP * stats(faint)[1], rtol=1e-3)


def test_long_feedback_neither_fades_nor_burns():
    x = rand(1, 3, 32, 32, seed=11)
    start = stats(x)
    coherence = ColorCoherence([ColorSettings(mode="mean_std")])
    coherence(x, torch.zeros(1, dtype=torch.float64))  # x is the first frame, the reference
    for _ in range(200):
        x = coherence((0.5 + 0.9 * (x - 0.5)).clamp(0, 1), torch.tensor([0.5], dtype=torch.float64))
    assert torch.allclose(stats(x)[1], start[1], rtol=0.15)
    assert torch.allclose(stats(x)[0], start[0], atol=0.05)


# ---- spaces -----------------------------------------------------------------------------------


def test_lab_round_trip_and_known_colours():
    corners = torch.tensor([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], dtype=torch.float32)
    rgb = torch.cat([rand(2, 3, 16, 16, seed=12).flatten(2), corners.T[None].expand(2, -1, -1)], -1).view(2, 3, 8, 33)
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4
    white, red = rgb_to_lab(corners[[7, 4]].view(2, 3, 1, 1)).flatten(1)
    assert torch.allclose(white, torch.tensor([100.0, 0, 0]), atol=0.01)
    assert torch.allclose(red, torch.tensor([53.24, 80.09, 67.20]), atol=0.05)


def test_lab_matching_brightens_without_moving_chroma():
    """A dark orange texture matched to a bright one of the same chroma: in LAB only lightness
    moves, each pixel keeps its a*/b*; matching in RGB shifts them several times as much."""

    def texture(lightness, seed):
        noise = rand(1, 3, 64, 64, seed=seed) - 0.5
        return torch.stack([lightness + 10 * noise[:, 0], 25 + 10 * noise[:, 1], 20 + 10 * noise[:, 2]], 1)

    dark, bright = texture(25, 13), lab_to_rgb(texture(70, 14))
    frame = lab_to_rgb(dark)
    assert (rgb_to_lab(frame) - dark).abs().max() < 1e-3  # in gamut, so the premise holds
    for mode in MODES:
        out = {space: rgb_to_lab(to_image({"mode": mode, "space": space}, bright)(frame, ONE)) for space in SPACES}
        assert abs(out["lab"][:, 0].mean() - rgb_to_lab(bright)[:, 0].mean()) < 0.1
        moved = {space: (lab[:, 1:] - dark[:, 1:]).abs().mean() for space, lab in out.items()}
        assert moved["lab"] < 0.15 and moved["rgb"] > 2.5 * moved["lab"], moved


# ---- references -------------------------------------------------------------------------------


def palette(level, n, seed):
    """n frames of one palette: noise of mean ``level``."""
    return [level + 0.2 * (rand(1, 3, 32, 32, seed=seed + i) - 0.5) for i in range(n)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("every", [1, 2])
def test_rolling_moves_to_a_new_palette_over_its_memory(mode, every):
    """Frames switch from a dark palette to a light one; pulled at full strength, the output
    follows over about ``memory`` frames of video (63% after one memory) and not at once;
    with the first frame as reference it never follows."""
    memory, old, new = 10, 0.2, 0.7
    rolling = ColorCoherence([ColorSettings(mode=mode, reference="rolling", memory=memory)], every)
    first = ColorCoherence([ColorSettings(mode=mode, reference="first_frame")], every)
    for frame in palette(old, 5, seed=20):
        rolling(frame, ONE), first(frame, ONE)
    moved, kept = [], []
    for frame in palette(new, 50 // every, seed=40):
        moved.append((rolling(frame, ONE).mean().item() - old) / (new - old))
        kept.append((first(frame, ONE).mean().item() - old) / (new - old))
    assert moved[0] < 0.25
    assert abs(moved[memory // every - 1] - (1 - math.exp(-1))) < 0.08
    assert moved[-1] > 0.97
    assert max(abs(k) for k in kept) < 0.05


def run(coherence, frames, strength):
    return [coherence(frame, strength) for frame in frames]


def test_state_round_trip_resumes_bit_for_bit():
    def lanes():
        return [
            ColorSettings(mode="histogram", space="lab", reference="rolling", memory=3),
            ColorSettings(mode="mean_std", space="rgb", reference="first_frame"),
            ColorSettings(mode="histogram", space="rgb", reference="image", image=rand(1, 3, 24, 24, seed=50)),
            ColorSettings(mode="none"),
        ]

    frames = [rand(4, 3, 24, 24, seed=60 + i) ** (1 + i / 4) for i in range(8)]
    strength = torch.tensor([0.7, 0.5, 1.0, 1.0], dtype=torch.float64)
    straight = run(ColorCoherence(lanes()), frames, strength)

    before = ColorCoherence(lanes())
    resumed = run(before, frames[:4], strength)
    buffer = io.BytesIO()
    torch.save(before.state_dict(), buffer)
    buffer.seek(0)
    after = ColorCoherence(lanes())
    after.load_state_dict(torch.load(buffer, weights_only=True))
    resumed += run(after, frames[4:], strength)
    assert all(torch.equal(a, b) for a, b in zip(straight, resumed))
    assert not torch.equal(straight[-1][0], frames[-1][0])  # the rolling lane was matched
    assert torch.equal(straight[-1][3], frames[-1][3])  # the none lane was not

    other = ColorCoherence([ColorSettings(mode="mean_std", reference="rolling")] + lanes()[1:])
    with pytest.raises(ValueError, match="colour state is for lanes"):
        other.load_state_dict(before.state_dict())


def test_lanes_with_different_settings_share_a_batch():
    images = [rand(1, 3, 32, 32, seed=70 + i) ** 2 for i in range(3)]
    settings = [
        ColorSettings(mode="histogram", space="lab", reference="image", image=images[0]),
        ColorSettings(mode="mean_std", space="rgb", reference="image", image=images[1]),
        ColorSettings(mode="none"),
        ColorSettings(mode="histogram", space="lab", reference="image", image=images[2]),
    ]
    batch = rand(4, 3, 32, 32, seed=80)
    strength = torch.tensor([1.0, 0.8, 1.0, 0.6], dtype=torch.float64)
    together = ColorCoherence(settings)(batch, strength)
    for i, lane in enumerate(settings):
        alone = ColorCoherence([lane])(batch[i : i + 1], strength[i : i + 1])
        assert torch.allclose(together[i : i + 1], alone, atol=1e-6)
    assert torch.equal(together[2], batch[2])
    assert ((together - batch).abs().mean((1, 2, 3)) > 0.05).tolist() == [True, True, False, True]


# ---- config -----------------------------------------------------------------------------------


def test_config_modes_and_spaces_are_the_tables():
    assert set(get_args(Color.model_fields["mode"].annotation)) == {*MODES, "none"}
    assert set(get_args(Color.model_fields["space"].annotation)) == set(SPACES)


def test_old_match_configs_still_load(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(
        "color: {match: palette.png, strength: 0.3}\n"
        "variants:\n  - {name: plain, color: {match: none}}\n  - {name: own, color: {match: sub/own.png}}\n"
        "  - {name: first, color: {match: first_frame}}\n"
    )
    config = load_config(path)
    assert config.color.reference == str(tmp_path / "palette.png")
    assert (config.color.mode, config.color.strength) == ("mean_std", 0.3)
    lanes = {name: lane.color for name, lane in config.lanes()}
    assert lanes["plain"].mode == "none"
    assert (lanes["own"].mode, lanes["own"].reference) == ("mean_std", str(tmp_path / "sub" / "own.png"))
    assert (lanes["first"].mode, lanes["first"].reference) == ("mean_std", "first_frame")
    assert load_config({}, ["color.match=none"]).color.mode == "none"


def test_new_color_keys_and_relative_reference_paths(tmp_path):
    path = tmp_path / "new.yaml"
    path.write_text(
        "fps: 24\ncolor: {mode: histogram, space: lab, reference: rolling, memory: 2.5s}\n"
        "variants:\n  - {name: a}\n  - {name: b, color: {reference: pics/b.png, mode: mean_std}}\n"
    )
    config = load_config(path)
    assert (config.color.mode, config.color.space, config.color.reference, config.color.memory) == (
        "histogram", "lab", "rolling", 2.5,
    )  # fmt: skip
    b = dict(config.lanes())["b"].color
    assert (b.mode, b.space, b.reference) == ("mean_std", "lab", str(tmp_path / "pics" / "b.png"))
    assert load_config({}).color.memory == 8.0
    assert load_config({"color": {"memory": 3}}).color.memory == 3.0


@pytest.mark.parametrize(
    "color, expected",
    [
        ({"match": "a.png", "reference": "rolling"}, "color: match is the old name of reference; write only color.reference: 'a.png'"),
        ({"match": "none", "mode": "histogram"}, "color: match: none contradicts mode: 'histogram'; write only color.mode"),
        ({"mode": "hist"}, "color.mode: input should be 'mean_std', 'histogram' or 'none'"),
        ({"space": "hsv"}, "color.space: input should be 'rgb' or 'lab'"),
        ({"memory": "soon"}, "color.memory: must be a positive time like 8 or '8s' (got 'soon')"),
        ({"memory": 0}, "color.memory: must be a positive time"),
        ({"reference": ""}, "color.reference: string should have at least 1 character"),
    ],
)
def test_color_errors_are_one_line(color, expected):
    with pytest.raises(ConfigError) as error:
        load_config({"color": color})
    assert str(error.value).startswith(expected)
    with pytest.raises(ConfigError, match=r"^variants\.0\.color"):
        load_config({"variants": [{"name": "v", "color": color}]})


def test_resume_is_refused_when_the_colour_mode_changes():
    saved = fingerprint(load_config({"color": {"mode": "histogram", "strength": 0.5}}))
    assert not differences(saved, fingerprint(load_config({"color": {"mode": "histogram", "strength": 0.9}})))
    changed = differences(saved, fingerprint(load_config({"color": {"mode": "mean_std"}})))
    assert changed and "histogram" in changed[0]
