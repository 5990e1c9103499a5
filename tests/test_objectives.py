"""Objective kinds: what each does to a dream, the registry, and the errors a user can make."""

import json
from pathlib import Path
from typing import Literal

import pytest
import torch
import torch.nn.functional as F
from pydantic import Field

from zoomdream import sources
from zoomdream.dream import models
from zoomdream.config import ConfigError, json_schema, load_config
from zoomdream.dream.ascent import Objective, Settings, dream
from zoomdream.dream.models import layer_widths
from zoomdream.dream.objectives import KINDS, Context, Kind, ObjectiveError, build, combine, register
from zoomdream.dream.objectives.diversity import grams

COFFEE = Path(__file__).parent.parent / "configs" / "coffee.jpg"
MODEL, LAYER, SIZE = "efficientnet_lite0", "_blocks.5", (64, 64)


@pytest.fixture(scope="module")
def net():
    return models.load_feature_net(MODEL, [LAYER])


def context(net, lanes=1):
    return Context(net, layer_widths(net, torch.device("cpu")), torch.device("cpu"), SIZE, MODEL, lanes)


def terms(*raw):
    """Terms as the config validates them."""
    return load_config({"model": {"name": MODEL}, "dream": {"objective": list(raw)}}).dream.objective


def objective(net, *raw, lanes=1, weights=None):
    return combine(build(terms(*raw), context(net, lanes)), weights or [1.0] * len(raw))


def dreamed(net, objective, lanes=1, steps=8, octaves=1):
    x = sources.noise("uniform", 1.0, SIZE, torch.Generator().manual_seed(3), batch=lanes)
    settings = Settings(steps=steps, octaves=octaves, jitter=4, step_size=0.02)
    return x, dream(x, net, objective, settings, torch.Generator().manual_seed(0), min_side=32)


@pytest.mark.slow
def test_a_guide_pulls_the_dream_toward_what_the_network_sees_in_it(net):
    guide = sources.load_image(COFFEE, SIZE)

    def likeness(frame):
        with torch.no_grad():
            return F.cosine_similarity(net(frame)[LAYER].mean((2, 3)), net(guide)[LAYER].mean((2, 3))).item()

    _, unguided = dreamed(net, objective(net, {"layer": LAYER}), steps=4)
    _, guided = dreamed(net, objective(net, {"kind": "guide", "layer": LAYER, "image": str(COFFEE)}), steps=4)
    assert likeness(guided) > likeness(unguided) + 0.15


@pytest.mark.slow
def test_guide_features_are_computed_once_per_input_size(net):
    inputs = []

    def counting(x):
        inputs.append(x)
        return net(x)

    guided = build(terms({"kind": "guide", "layer": LAYER, "image": str(COFFEE)}), context(counting))[0]
    inputs.clear()
    dreamed(counting, guided, steps=3, octaves=2)
    guide_sizes = [tuple(x.shape[-2:]) for x in inputs if not x.requires_grad]
    assert len(inputs) == 6 + 2 and sorted(guide_sizes) == [(46, 46), (64, 64)]


@pytest.mark.slow
def test_diversity_makes_the_lanes_differ(net):
    def similarity(frames):
        with torch.no_grad():
            g = F.normalize(grams(net(frames)[LAYER]).flatten(1), dim=1)
        return (g[0] @ g[1]).item()

    _, alike = dreamed(net, objective(net, {"layer": LAYER}, lanes=2), lanes=2, steps=5)
    diverse = objective(net, {"layer": LAYER}, {"kind": "diversity", "layer": LAYER}, lanes=2)
    _, apart = dreamed(net, diverse, lanes=2, steps=5)
    assert similarity(apart) < similarity(alike) - 0.1


def test_diversity_needs_lanes(net):
    with pytest.raises(ObjectiveError, match=r"^dream\.objective\.1\.kind: diversity makes lanes differ, and this render has one"):
        build(terms({"layer": LAYER}, {"kind": "diversity", "layer": LAYER}), context(net))


@pytest.fixture
def kinds():
    """The registry, restored after a test adds to it."""
    saved = dict(KINDS)
    yield KINDS
    KINDS.clear()
    KINDS.update(saved)


@pytest.mark.slow
def test_a_new_kind_is_one_registered_class(kinds, net):
    @register
    class Brightness(Kind):
        kind: Literal["brightness"] = "brightness"
        level: float = Field(0.5, ge=0, le=1, description="the mean brightness to pull the frame toward")

        def build(self, context: Context) -> Objective:
            return Objective(lambda view: -(view.image.mean((1, 2, 3)) - self.level).abs(), [])

    (term,) = terms({"kind": "brightness", "level": 0.9, "weight": 2})
    assert isinstance(term, Brightness) and term.level == 0.9
    assert "brightness" in json.dumps(json_schema())
    with pytest.raises(ConfigError, match="dream.objective.0.level: input should be less than or equal to 1"):
        terms({"kind": "brightness", "level": 3})
    x, out = dreamed(net, combine(build([term], context(net)), [2.0]))
    assert out.mean() > x.mean() + 0.05


@pytest.mark.parametrize(
    "term, expected",
    [
        ({"kind": "dog", "layer": LAYER}, "dream.objective.0.kind: unknown kind 'dog'; use one of activation, diversity, guide"),
        ({"layer": LAYER, "image": "a.jpg"}, "dream.objective.0.image: unknown key; valid keys for kind activation: kind,"),
        ({"kind": "guide", "layer": LAYER, "imgae": "a.jpg"}, "dream.objective.0.imgae: unknown key; did you mean 'image'?"),
        ({"kind": "guide", "layer": LAYER}, "dream.objective.0.image: field required"),
    ],
)
def test_term_errors_name_the_key(term, expected):
    with pytest.raises(ConfigError) as info:
        terms(term)
    assert str(info.value).startswith(expected), info.value


def test_a_channel_past_the_layer_is_an_error_before_rendering(net):
    with pytest.raises(ObjectiveError) as info:
        build(terms({"layer": LAYER, "channels": [0, 80]}), context(net))
    assert str(info.value) == (
        f"dream.objective.0.channels: {LAYER} has channels 0 to 79, not 80 (zoomdream layers {MODEL} lists the widths)"
    )


def test_guide_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "guided.yaml"
    path.write_text(
        "dream:\n  objective: [{kind: guide, layer: mixed_3, image: clouds.jpg}]\n"
        "variants:\n  - {name: a}\n  - {name: b, dream: {objective: [{kind: guide, layer: mixed_3, image: ../dogs.png}]}}\n"
    )
    config = load_config(path)
    assert config.dream.objective[0].image == str(tmp_path / "sub" / "clouds.jpg")
    (_, a), (_, b) = config.lanes()
    assert a.dream.objective[0].image == str(tmp_path / "sub" / "clouds.jpg")
    assert b.dream.objective[0].image == str(tmp_path / "dogs.png")


@pytest.mark.parametrize("guide, problem", [("missing.jpg", "not found"), ("garbage.jpg", "not a readable image")])
def test_a_guide_that_cannot_be_read_stops_the_render_with_one_line(cli, tiny_config, tmp_path, guide, problem):
    (tmp_path / "garbage.jpg").write_bytes(b"not an image")
    term = f"dream.objective=[{{kind: guide, layer: {LAYER}, image: {tmp_path / guide}}}]"
    code, _, err = cli("render", tiny_config, "--quiet", "--set", term)
    assert code == 2
    assert err.startswith(f"zoomdream: error: dream.objective.0.image: {tmp_path / guide}: {problem}")
    assert err.count("\n") == 1 and not (tmp_path / "out" / "tiny.mp4").exists()


@pytest.mark.slow
def test_guided_diverse_variants_render(cli, tiny_config, tmp_path):
    objective = f"[{{kind: guide, layer: {LAYER}, image: {COFFEE}}}, {{kind: diversity, layer: {LAYER}, weight: 0.5}}]"
    code, _, err = cli(
        "render", tiny_config, "--quiet", "--set", f"dream.objective={objective}",
        "--set", "variants=[{name: a, seed: 1}, {name: b, seed: 2}]",
    )  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").glob("*/*.mp4")) == ["a.mp4", "b.mp4"]
