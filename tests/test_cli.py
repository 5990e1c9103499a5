import json
import shlex
import subprocess
import sys

import pytest

from helpers import frame_count, stop_at


def test_check_accepts_a_good_config(cli, tiny_config):
    code, out, _ = cli("check", tiny_config)
    assert code == 0 and "ok" in out and "3 frames" in out


@pytest.mark.parametrize(
    "override, expected",
    [
        ("dream.octaves=0", "dream.octaves: must be ≥ 1 (got 0)"),
        ("motion.zom=1.1", "motion.zom: unknown key; did you mean 'zoom'?"),
        ("size=[10, 10]", "size: width and height must be between"),
        ("frames=[", "--set frames"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(cli, tiny_config, override, expected):
    code, out, err = cli("check", tiny_config, "--set", override)
    assert code == 2
    assert err.startswith(f"zoomdream: error: {expected}")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_real_process_error_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dream:\n  steps: lots\n")
    proc = subprocess.run([sys.executable, "-m", "zoomdream", "render", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("zoomdream: error: dream.steps:")
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_missing_start_image(cli, tiny_config):
    code, _, err = cli("render", tiny_config, "--quiet", "--set", "start.image=nowhere.jpg")
    missing = tiny_config.parent / "nowhere.jpg"
    assert (code, err) == (2, f"zoomdream: error: {missing}: not found; check the path\n")


@pytest.mark.slow
def test_missing_start_image_leaves_no_unfinished_render(cli, tiny_config):
    assert cli("render", tiny_config, "--quiet", "--set", "start.image=nowhere.jpg")[0] == 2
    code, _, err = cli("render", tiny_config, "--quiet")
    assert code == 0, err


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.name=efficientnet_lite9", "unknown model 'efficientnet_lite9'"),
        ("dream.objective=[{layer: nope}]", "model 'efficientnet_lite0' has no layer 'nope'"),
    ],
)
def test_unknown_model_or_layer(cli, tiny_config, override, expected):
    code, _, err = cli("render", tiny_config, "--quiet", "--set", override)
    assert code == 2 and err.startswith(f"zoomdream: error: {expected}") and err.count("\n") == 1


@pytest.mark.slow
def test_unwritable_output(cli, tiny_config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = cli("render", tiny_config, "--quiet", "--set", f"output.dir={blocker / 'out'}")
    assert code == 2 and err.startswith(f"zoomdream: error: {blocker / 'out'}: cannot write here")
    assert "set output.dir to a writable folder" in err and err.count("\n") == 1


@pytest.mark.slow
def test_existing_render_is_kept_without_overwrite(cli, tiny_config, tmp_path):
    assert cli("render", tiny_config, "--quiet")[0] == 0
    video = tmp_path / "out" / "tiny.mp4"
    before = video.read_bytes()
    code, _, err = cli("render", tiny_config, "--quiet", "--set", "seed=9")
    assert code == 2 and "--overwrite" in err
    assert video.read_bytes() == before
    assert cli("render", tiny_config, "--quiet", "--overwrite", "--set", "seed=9")[0] == 0
    assert video.read_bytes() != before


def test_schema_is_json_and_markdown(cli):
    code, out, _ = cli("schema")
    assert code == 0 and "motion" in json.loads(out)["properties"]
    code, out, _ = cli("schema", "--markdown")
    assert code == 0 and "| `motion.zoom` |" in out


def test_layers_lists_names_and_channels(cli):
    code, out, _ = cli("layers", "inception_v3_tf")
    rows = dict(line.split("\t") for line in out.strip().splitlines())
    assert code == 0 and "mixed_3" in rows and int(rows["mixed_3"]) > 0


def test_layers_unknown_model(cli):
    code, _, err = cli("layers", "inceptoin_v3_tf")
    assert code == 2 and err.startswith("zoomdream: error: unknown model 'inceptoin_v3_tf'")
    assert err.rstrip().endswith("did you mean 'inception_v3_tf'?")


@pytest.mark.slow
def test_progress_bar_shows_rate_and_eta(cli, tiny_config):
    code, out, err = cli("render", tiny_config)
    assert code == 0 and "3/3" in err and ("frame/s" in err or "s/frame" in err)
    assert "wrote" in out and "tiny.mp4" in out


@pytest.mark.slow
def test_channel_past_the_layer_width(cli, tiny_config):
    code, _, err = cli("render", tiny_config, "--quiet", "--set", "dream.objective=[{layer: _blocks.10, channels: [5, 500]}]")
    assert code == 2 and err.count("\n") == 1
    assert "dream.objective.0.channels: _blocks.10 has channels 0 to 111, not 500" in err


@pytest.mark.slow
def test_stopped_preview_names_a_command_that_pastes_back(cli, tiny_config, tmp_path, monkeypatch):
    """Paths with spaces, --set values and --preview survive the copy-paste the stop message asks for."""
    recipe = tmp_path / "my recipes" / "tiny.yaml"
    recipe.parent.mkdir()
    recipe.write_text(tiny_config.read_text())
    sets = ["--set", "frames=12", "--set", f"output.dir={tmp_path / 'my renders'}"]
    stop_at(monkeypatch, 8)
    code, _, err = cli("render", recipe, "--quiet", "--preview", *sets)
    assert code == 130 and err.count("\n") == 1, err
    words = shlex.split(err.split("continue with: ", 1)[1])
    assert words == ["zoomdream", "render", str(recipe), *sets, "--preview", "--quiet", "--resume"]
    monkeypatch.undo()
    code, _, err = cli(*words[1:])
    assert code == 0 and err == "", err
    assert frame_count(tmp_path / "my renders" / "preview" / "tiny.mp4") == 12
