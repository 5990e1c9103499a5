import json
from pathlib import Path

import pytest
import yaml

from zoomdream.config import ConfigError, json_schema, load_config, read_config_file


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_minimal_config_has_good_defaults(tmp_path):
    config = load_config(write(tmp_path, "name: tiny\nframes: 10\n"))
    assert config.frame_count == 10
    assert config.model.name == "inception_v3_tf"
    assert config.start.noise is not None and config.start.image is None
    assert config.output.video is not None
    assert str(config.output_dir()).endswith("renders/tiny")


def test_duration_gives_frames():
    assert load_config({"duration": "2.5s", "fps": 24}).frame_count == 60
    assert load_config({"duration": 2}).frame_count == 60


def test_set_overrides_nested_and_list_items(tmp_path):
    path = write(tmp_path, "dream:\n  objective:\n    - {layer: a}\n")
    config = load_config(path, ["dream.steps=5", "motion.zoom=0:(1), 10:(1.1)", "dream.objective.0.weight=2", "size=[64, 48]"])
    assert config.dream.steps == 5
    assert config.motion.zoom == "0:(1), 10:(1.1)"
    assert config.dream.objective[0].weight == 2
    assert config.size == (64, 48)


def test_keyword_overrides_nest_with_double_underscore():
    assert load_config({}, dream__octaves=3).dream.octaves == 3


def test_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    config = load_config(write(tmp_path / "sub", "start: {image: photo.jpg}\nvariants: [{name: a, start: {image: ../b.jpg}}]\n"))
    assert config.start.image == str((tmp_path / "sub" / "photo.jpg").resolve())
    assert dict(config.lanes())["a"].start.image == str((tmp_path / "b.jpg").resolve())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("motion:\n  zom: 1.1\n", "motion.zom: unknown key; did you mean 'zoom'?"),
        ("dream:\n  octaves: 0\n", "dream.octaves: must be ≥ 1 (got 0)"),
        ("dream:\n  steps: 2.5\n", "dream.steps: must be a whole number"),
        ("size: [10, 10]\n", "size: width and height must be between 32 and 8192"),
        ("size: [100000, 100]\n", "size: width and height must be between"),
        ("frames: many\n", "frames: input should be a valid integer"),
        ("fps: -3\n", "fps: input should be greater than or equal to 1"),
        ("motion:\n  rotate: '0:(0), 10:('\n", "motion.rotate: cannot read schedule"),
        ("motion:\n  zoom: {0: 1.0, 0s: 1.1}\n", "motion.zoom: two keyframes fall on the same frame"),
        ("frames: 3\nduration: 2s\n", "frames: give frames or duration, not both"),
        ("start: {image: a.jpg, noise: {}}\n", "start: give either noise or image, not both"),
        ("dream:\n  objective:\n    - {layer: x, chanels: [1]}\n", "dream.objective.0.chanels: unknown key; did you mean 'channels'?"),
        ("output: {video: null, frames: null}\n", "output: video and frames are both null"),
        ("device: gpu\n", "device: string should match pattern"),
        ("name: ../evil\n", "name: string should match pattern"),
        ("colour: {}\n", "colour: unknown key; did you mean 'color'?"),
        ("motion:\n  zoom: 1e308\n", "motion.zoom: must be ≤ 10"),
        ("dream:\n  objective: []\n", "dream.objective: list should have at least 1 item"),
    ],
)
def test_errors_name_the_key_and_fix(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"frames: [1,\n", "line 2: cannot parse YAML"),
        (b"\xff\xfe\x00bad", "is not UTF-8 text"),
        (b"- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected):
        read_config_file(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: not found; give a UTF-8 .yaml recipe"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


def test_bad_set_syntax():
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config({}, ["dream.steps"])
    with pytest.raises(ConfigError, match="not an index"):
        load_config({"dream": {"objective": [{"layer": "a"}]}}, ["dream.objective.3.weight=1"])


def test_resolved_yaml_round_trips(tmp_path):
    variants = [{"name": "a", "motion": {"zoom": 0.9}}, {"name": "b", "seed": 3, "dream": {"objective": [{"layer": "x"}]}}]
    config = load_config({"name": "rt", "motion": {"pan_x": {0: 0, "2s": 3}, "rotate": "0:(0), 10:(1)"}, "variants": variants})
    text = config.to_yaml()
    again = load_config(write(tmp_path, text))
    assert again == config and again.lanes() == config.lanes()
    assert yaml.safe_load(text)["variants"] == variants  # only the keys each lane changes


def test_schema_is_json_and_lists_sections():
    schema = json.loads(json.dumps(json_schema()))
    assert {"dream", "motion", "color", "output", "start", "model", "variants"} <= set(schema["properties"])
    sections = [schema, *schema["$defs"].values()]
    undocumented = [(s.get("title"), k) for s in sections for k, v in s.get("properties", {}).items() if not v.get("description")]
    assert not undocumented  # the README reference is generated from these
    variant = schema["$defs"][schema["properties"]["variants"]["items"]["$ref"].split("/")[-1]]
    assert variant["required"] == ["name"] and set(variant["properties"]) == {"name", "seed", "start", "dream", "motion", "color"}


def test_variants_become_full_lane_configs():
    config = load_config({"seed": 4, "variants": [{"name": "a"}, {"name": "b", "seed": 9, "motion": {"zoom": 0.98}}]})
    (a_name, a), (b_name, b) = config.lanes()
    assert (a_name, a.seed, a.motion.zoom) == ("a", 4, 1.02)
    assert (b_name, b.seed, b.motion.zoom) == ("b", 9, 0.98)
    assert load_config({}).lanes() == [(None, load_config({}))]


def test_variant_changes_only_the_keys_it_sets():
    config = load_config(
        {"motion": {"zoom": 1.05, "rotate": 2}, "color": {"strength": 0.2}, "start": {"image": "base.png"},
         "variants": [{"name": "a", "motion": {"zoom": 0.9}, "color": {"match": "none"}, "start": {"fit": "contain"}},
                      {"name": "b", "start": {"noise": {"kind": "gaussian"}}},
                      {"name": "c", "start": {"image": "c.png"}}]}
    )  # fmt: skip
    lanes = dict(config.lanes())
    a, b, c = lanes["a"], lanes["b"], lanes["c"]
    assert (a.motion.zoom, a.motion.rotate, a.color.mode, a.color.strength) == (0.9, 2, "none", 0.2)
    assert (a.start.image, a.start.fit) == (config.start.image, "contain")
    assert (b.start.image, b.start.noise.kind) == (None, "gaussian")
    assert (c.start.image, c.start.noise) == (str(Path("c.png").resolve()), None)
    with_noise = load_config({"variants": [{"name": "d", "start": {"image": "d.png"}}]})
    assert with_noise.lanes()[0][1].start.noise is None


@pytest.mark.parametrize(
    "variants, expected",
    [
        ([{"seed": 1}], "variants.0.name: give each variant a name"),
        ([{"name": "a", "size": [64, 64]}], "variants.0.size: variants share everything but"),
        ([{"name": "a", "motion": {"zom": 1}}], "variants.0.motion.zom: unknown key; did you mean 'zoom'?"),
        ([{"name": "a", "dream": {"steps": 2}}], "variants.0.dream: a variant may only change dream.objective"),
        ([{"name": "a"}, {"name": "a"}], "variants: names must be different"),
        ([{"name": "a", "motion": {"zoom": -1}}], "variants.0.motion.zoom: must be > 0.1"),
        ([{"name": "../a"}], "variants.0.name: give each variant a name"),
        ([{"name": "a", "dream": {"objective": [{"layer": "x", "chanels": [1]}]}}],
         "variants.0.dream.objective.0.chanels: unknown key; did you mean 'channels'?"),
        ([{"name": "a", "start": {"image": "a.png", "noise": {}}}], "variants.0.start: give either noise or image, not both"),
        ([{"name": "a", "color": {"strength": "bass"}}], "variants.0: color.strength: 'bass' needs an audio section"),
        (["a"], "variants.0: input should be a valid dictionary"),
    ],
)  # fmt: skip
def test_variant_errors(variants, expected):
    with pytest.raises(ConfigError) as info:
        load_config({"variants": variants})
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)
