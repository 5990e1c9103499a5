"""Formulas in a config: refused at load or before the first frame, with one line and nothing written."""

import pytest

from zoomdream.config import load_config

PREVIEW = ["size=[64, 64]", "frames=40", "fps=10", "dream.steps=0", "color.match=none"]


def render(cli, tmp_path, *settings):
    out = tmp_path / "out"
    args = [x for item in [*PREVIEW, f"output.dir={out}", *settings] for x in ("--set", item)]
    code, _, err = cli("render", tmp_path / "recipe.yaml", "--quiet", *args)
    return code, err, out


@pytest.fixture(autouse=True)
def recipe(tmp_path):
    (tmp_path / "recipe.yaml").write_text("name: formula\n")


def quoted(key: str, formula: str) -> str:
    return f"{key}='{formula}'" if '"' in formula else f'{key}="{formula}"'


@pytest.mark.parametrize(
    "key, setting, says",
    [
        ("motion.zoom", quoted("motion.zoom", "__import__('os').system('touch pwned')"), "attribute access not allowed"),
        ("motion.zoom", quoted("motion.zoom", "t.__class__"), "attribute access not allowed"),
        ("motion.rotate", quoted("motion.rotate", "().__class__"), "attribute access not allowed"),
        ("motion.pan_x", quoted("motion.pan_x", "open"), "unknown name 'open'"),
        ("motion.zoom", quoted("motion.zoom", "1+foo"), "unknown name 'foo' in \"1+foo\"; use t, s, fps"),
        ("motion.zoom", quoted("motion.zoom", "1 + 0.1*bass"), "'bass' needs an audio section"),
        ("dream.step_size", quoted("dream.step_size", "0.01 + 0" + "*t" * 3000), "characters; keep it under 1000"),
        ("motion.zoom", quoted("motion.zoom", "(" * 300 + "1" + ")" * 300), "cannot read expression"),
        ("motion.zoom", quoted("motion.zoom", "1/0"), "division by zero"),
        ("motion.zoom", quoted("motion.zoom", "0:(1.01), 20:(1 + 1/(t-25)**2)"), "at frame 25 the expression gives inf; must be a finite number"),
        ("motion.zoom", quoted("motion.zoom", "where(t >= 37, -0.2, 1.01)"), "at frame 37 the expression gives -0.2; must be > 0.1"),
        ("dream.octaves", quoted("dream.octaves", "1 + t/4"), "at frame 31 the expression gives 9; must be ≤ 8"),
        ("motion.center.1", 'motion.center=[0.5, "0.5 + s"]', "at frame 6 the expression gives 1.1; must be ≤ 1"),
        ("dream.objective.0.weight", 'dream.objective=[{layer: blocks.2, weight: "log(t - 3)"}]', "at frame 0 the expression gives nan"),
    ],
)
def test_bad_formula_is_one_line_naming_the_key_and_nothing_is_written(cli, tmp_path, key, setting, says):
    code, err, out = render(cli, tmp_path, setting)
    assert code == 2
    assert err.startswith(f"zoomdream: error: {key}: ") and says in err, err
    assert err.count("\n") == 1
    assert not out.exists()
    assert not (tmp_path / "pwned").exists()


def test_check_catches_syntax_at_load(cli, tmp_path):
    code, _, err = cli("check", tmp_path / "recipe.yaml", "--set", 'motion.zoom="0:(1), 10:(1 + sin(t)"')
    assert code == 2 and err.startswith("zoomdream: error: motion.zoom: cannot read schedule")


def test_a_good_formula_renders(cli, tmp_path):
    code, err, out = render(cli, tmp_path, 'motion.zoom="0:(1.0025+0.002*sin(1.25*3.14*t/30))"', "frames=4")
    assert code == 0, err
    assert (out / "formula.mp4").exists()


def test_schedules_are_found_by_type_with_their_bounds():
    config = load_config({"dream": {"objective": [{"layer": "a"}, {"layer": "b"}]}})
    fields = {f.path: f for f in config.schedules()}
    assert {"dream.steps", "motion.zoom", "motion.center.0", "motion.center.1", "color.strength",
            "dream.objective.1.weight"} <= set(fields)
    assert "motion.dream_every" not in fields and "dream.interpolation" not in fields
    assert fields["motion.zoom"].bounds.gt == 0.1 and fields["dream.steps"].bounds.integer
    assert fields["motion.center.1"].bounds.le == 1 and fields["color.strength"].interpolation == "linear"
