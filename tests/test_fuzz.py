"""Property-based robustness tests: random YAML and random start images at ``check`` and ``render``.

The promise under test: whatever the recipe or the start image, ``zoomdream check`` and
``zoomdream render`` end either valid (exit 0) or with exactly one line
``zoomdream: error: ...`` and exit 2 -- never an exception escaping ``main``, never a hang,
never a file written outside the render folder.

Every property runs derandomized (the same examples on every run) and without the example
database, so the suite is deterministic and writes nothing into the checkout. ``check`` is
cheap, so its properties see many examples; every ``render`` costs about a second, so those
see a dozen.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import struct
import sys
import tempfile
import traceback
import warnings
import zlib
from pathlib import Path
from typing import Any, get_args

import PIL.Image
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from zoomdream.frontends.cli import main
from zoomdream.config import Config, ConfigError, load_config
from zoomdream.schedules.keyframes import Clock, Schedule

ERROR_PREFIX = "zoomdream: error: "
COFFEE = Path(__file__).resolve().parent.parent / "configs" / "coffee.jpg"
HUGE_INTS = [10**400, -(10**400), 10**30, 10**20, 2**63, 2**63 - 1, 2**64, 10**9, -1, 0, 1]
ODD_FLOATS = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 0.5, 1e-300]

TINY: dict[str, Any] = {
    "name": "fuzz",
    "size": [64, 48],
    "frames": 2,
    "model": {"name": "efficientnet_lite0"},
    "dream": {"steps": 1, "octaves": 1},
    "output": {"dir": "out"},
}


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


# --------------------------------------------------------------------------- helpers


def run_main(capsys, *argv: Any) -> tuple[int, str, str]:
    """main() in-process; an exception escaping it fails the test with its traceback."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse; never expected for the argv these tests build
        out, err = capsys.readouterr()
        pytest.fail(f"main({list(argv)!r}) called sys.exit({stop.code!r}); stderr: {err!r}")
    except Exception as error:  # noqa: BLE001 -- that is the bug being looked for
        capsys.readouterr()
        pytest.fail(
            f"main({[str(a)[:200] for a in argv]!r}) raised {type(error).__name__}: {str(error)[:300]}\n"
            + "".join(traceback.format_exception(error))[-3000:]
        )
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_exit(code: int, out: str, err: str, *, allowed: tuple[int, ...] = (0, 2)) -> None:
    """Exit 0, or exit 2 with exactly one line on stderr that starts with the error prefix."""
    assert code in allowed, f"exit {code}, stderr {err[-500:]!r}"
    assert "Traceback" not in err and "Traceback" not in out
    if code == 2:
        assert err.startswith(ERROR_PREFIX), err[:500]
        assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err[:500]!r}"
        assert err[len(ERROR_PREFIX):].strip(), "empty error message"


def tree(root: Path) -> set[Path]:
    """Every file and folder under root (symlinks not followed)."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(Path(folder) / name)
    return found


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit greyscale PNG of width x height, all black: a few KB however large it declares.

    With ``rows`` only that many rows of pixel data follow the header (a PNG that declares a
    size its data does not back, as a hand-made bomb would).
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height if rows is None else rows)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- strategies


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The section model inside Optional[...] / list[...] / Annotated[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_submodel, get_args(annotation)) if m is not None), None)


def _schema_tree(model: type[BaseModel]) -> dict[str, Any]:
    """{key: subtree or None} for every field of the config, from the pydantic model itself."""
    result: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        sub = _submodel(field.annotation)
        result[name] = _schema_tree(sub) if sub is not None else None
    return result


def _all_keys(schema: dict[str, Any]) -> set[str]:
    return set(schema).union(*(_all_keys(sub) for sub in schema.values() if sub))


SCHEMA = _schema_tree(Config)
ALL_KEYS = sorted(_all_keys(SCHEMA))


def _misspell(key: str, edit: int, pos: int, char: str) -> str:
    pos %= len(key) + 1
    return [
        key[:pos] + key[pos + 1:],  # drop
        key[:pos] + char + key[pos:],  # insert
        key[:pos] + key[pos + 1:pos + 2] + key[pos:pos + 1] + key[pos + 2:],  # swap
        key.upper(),
        key.replace("_", "-") if "_" in key else key + "s",
        " " + key,
        key + ":",
    ][edit % 7]


misspelt_keys = st.builds(
    _misspell, st.sampled_from(ALL_KEYS), st.integers(0, 6), st.integers(0, 20), st.sampled_from("aeiosx_.-")
)
junk_keys = st.one_of(
    st.text(min_size=0, max_size=8),
    st.integers(-5, 10**6),
    st.sampled_from([None, True, False, 1.5, "", "__class__", "model_config", "$ref", "<<"]),
)

schedule_key = st.one_of(
    st.integers(-3, 300).map(str),
    st.sampled_from(["", "x", "2.5s", "1s", "-1", "1e400", "0.", ".5", "s", "１", "999999999999999999999", "NaN"]),
)
schedule_value = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False).map(repr),
    st.sampled_from(["", "1e400", "nan", "inf", "-inf", "(", ")", "abc", "1,2", "0x10", "1_000", " 1 "]),
)


@st.composite
def schedule_strings(draw) -> str:
    pairs = draw(st.lists(st.tuples(schedule_key, schedule_value), max_size=4))
    text = ", ".join(f"{k}:({v})" for k, v in pairs)
    cut = draw(st.one_of(st.none(), st.integers(0, max(len(text), 0))))
    text = text if cut is None else text[:cut]
    return text + draw(st.sampled_from(["", ",", " ", ")", ":(", ", x:(", "\t"]))


leaf_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_FLOATS),
    st.text(max_size=12),
    schedule_strings(),
    st.sampled_from(
        ["", "auto", "cpu", "cuda", "cuda:99", "mps", "10s", "0s", "-5s", "1e400s", "fp16", "linear", "cubic",
         "none", "first_frame", "png", "libx264", "uniform", "gaussian", "cover", "contain", "second",
         "efficientnet_lite0", "inception_v3_tf", "..", "/", "~", "nowhere.png"]
    ),
)
schedule_specs = st.one_of(
    st.sampled_from(HUGE_INTS + ODD_FLOATS),
    st.integers(),
    st.floats(),
    schedule_strings(),
    st.dictionaries(
        st.one_of(st.sampled_from(HUGE_INTS + ODD_FLOATS), st.integers(-3, 300), schedule_key),
        st.one_of(st.sampled_from(HUGE_INTS + ODD_FLOATS), st.floats(), schedule_value),
        max_size=3,
    ),
)
any_values = st.recursive(
    leaf_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(schedule_key, junk_keys), inner, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def section_docs(draw, schema: dict[str, Any], depth: int = 0) -> dict:
    """A mapping built mostly from the real key names of this section, with misspellings and junk."""
    doc: dict = {}
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["real", "real", "real", "misspelt", "junk"]))
        if kind == "real":
            key = draw(st.sampled_from(sorted(schema)))
            sub = schema[key]
            if key == "objective" and draw(st.booleans()):
                value = draw(st.lists(section_docs(SCHEMA["dream"]["objective"], depth + 1), max_size=2))
            elif sub is not None and depth < 3 and draw(st.integers(0, 3)):
                value = draw(section_docs(sub, depth + 1))
            else:
                value = draw(st.one_of(any_values, schedule_specs))
        else:
            key = draw(misspelt_keys if kind == "misspelt" else junk_keys)
            value = draw(any_values)
        doc[key] = value
    return doc


def to_yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@st.composite
def config_files(draw) -> bytes:
    """The bytes of a config file: a random recipe as YAML, damaged or not, or no YAML at all."""
    kind = draw(st.sampled_from(["doc", "doc", "doc", "tiny+doc", "damaged", "bytes", "text", "encoded", "top"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200)).encode("utf-8")
    if kind == "top":  # a document whose top level is not a mapping
        return to_yaml(draw(leaf_values | st.lists(leaf_values, max_size=3))).encode("utf-8")
    doc = draw(section_docs(SCHEMA))
    if kind == "tiny+doc":
        doc = {**TINY, **doc}
    text = to_yaml(doc)
    if kind == "encoded":  # the same recipe, saved in an encoding other than UTF-8
        return text.encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"])), errors="replace")
    if kind == "damaged":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(["", "\t", ":", "- ", "{", "[", "'", '"', "&a", "*a", "!!python/object:os.system x",
                                     "\n  bad: indent", "\x00", "\ufeff", "%YAML 9.9\n---\n", "\n---\nx: 1"]))
        encoded = (text[:at] + junk + text[at:]).encode("utf-8")
        if draw(st.booleans()):
            position = draw(st.integers(0, len(encoded)))
            encoded = encoded[:position] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80\x80", b"\xed\xa0\x80"])) + encoded[position:]
        return encoded
    return text.encode("utf-8")


set_keys = st.one_of(
    st.sampled_from(
        ["frames", "size", "size.0", "size.1", "size.2", "fps", "seed", "duration", "name", "device", "dream.steps",
         "dream.objective.0.layer", "dream.objective.0.weight", "dream.objective.5.layer", "motion.zoom",
         "motion.center.0", "motion.center.x", "start.image", "start.noise.scale", "output.dir", "output.video.crf",
         "model.name", "frames.x", "name.x.y", "a..b", ".x", "x.", "", " ", "dream.steps.0", "dream.step"]
    ),
    st.lists(st.sampled_from(ALL_KEYS + ["0", "1", "x"]), min_size=1, max_size=4).map(".".join),
)
set_values = st.one_of(
    any_values.map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()),
    st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s),
    schedule_strings().map(lambda s: f'"{s}"'),
)


def render_what_check_accepted(capsys, path: Path, folder: Path, argv: tuple[str, ...] = ()) -> None:
    """Two tiny frames of a recipe check said ok: check and render may never disagree. Large
    frames are rendered at a ``scale`` that keeps them near 160 px a side; sizes, octaves and
    schedules stay as generated."""
    config = load_config(path, [a.removeprefix("--set=") for a in argv])
    area = config.frame_size[0] * config.frame_size[1] * max(1, len(config.variants))
    scale = min(1.0, (160 * 160 / area) ** 0.5) * config.scale
    extra = ["--set=frames=2", "--set=duration=null", f"--set=output.dir={folder / 'render'}", f"--set=scale={scale:.6f}"]
    code, out, err = run_main(capsys, "render", path, *argv, *extra, "--quiet", "--overwrite")
    assert_clean_exit(code, out, err)


# --------------------------------------------------------------------------- 1. check on random YAML


@pytest.mark.slow
@_settings(max_examples=100)
@given(data=config_files())
def test_check_on_random_config_files_exits_0_or_one_line_2(capsys, tmp_path, data):
    path = tmp_path / "random.yaml"
    path.write_bytes(data)
    code, out, err = run_main(capsys, "check", path)
    assert_clean_exit(code, out, err)
    if code == 0:
        assert err == "" and out.startswith(f"{path}: ok") and out.count("\n") == 1
        load_config(path)  # what check accepted, the loader accepts too


@_settings(max_examples=100)
@given(overrides=st.lists(st.tuples(set_keys, set_values), min_size=1, max_size=3))
def test_check_with_random_set_overrides(capsys, tmp_path, overrides):
    path = tmp_path / "tiny.yaml"
    path.write_text(to_yaml(TINY))
    argv = [f"--set={key}={value}" for key, value in overrides]  # '=' form: a value may start with '-'
    code, out, err = run_main(capsys, "check", path, *argv)
    assert_clean_exit(code, out, err)
    if code == 0:
        assert err == "" and "ok" in out


@_settings(max_examples=100)
@given(doc=section_docs(SCHEMA))
def test_check_on_tiny_config_with_a_random_section_merged_in(capsys, tmp_path, doc):
    """Mostly-valid recipes reach the deeper validators (schedules, ranges, cross-field checks)."""
    merged = {**TINY, **doc}
    path = tmp_path / "merged.yaml"
    path.write_text(to_yaml(merged))
    code, out, err = run_main(capsys, "check", path)
    assert_clean_exit(code, out, err)
    if code == 2 and not doc:
        pytest.fail(f"the tiny config itself was refused: {err}")


@pytest.mark.slow
@_settings(max_examples=12)
@given(overrides=st.lists(st.tuples(set_keys, set_values), min_size=1, max_size=3))
def test_render_with_random_set_overrides_that_check_accepts(capsys, tmp_path, overrides):
    path = tmp_path / "tiny.yaml"
    path.write_text(to_yaml(TINY))
    argv = tuple(f"--set={key}={value}" for key, value in overrides)
    if run_main(capsys, "check", path, *argv)[0] == 0:
        render_what_check_accepted(capsys, path, tmp_path, argv)


@pytest.mark.slow
@_settings(max_examples=12)
@given(doc=section_docs(SCHEMA))
def test_render_tiny_config_with_a_random_section_that_check_accepts(capsys, tmp_path, doc):
    path = tmp_path / "merged.yaml"
    path.write_text(to_yaml({**TINY, **doc}))
    if run_main(capsys, "check", path)[0] == 0:
        render_what_check_accepted(capsys, path, tmp_path)


@pytest.mark.slow
@_settings(max_examples=12)
@given(size=st.tuples(st.integers(32, 80), st.integers(32, 80)), octaves=st.integers(1, 8),
       scale=st.floats(1.01, 4.0), model=st.sampled_from(["inception_v3_tf", "efficientnet_lite0"]))
def test_every_small_size_and_octave_check_accepts_renders(capsys, tmp_path, size, octaves, scale, model):
    """The bundled InceptionV3 cannot see under 43 px; every size and octave check accepts still renders."""
    doc = {**TINY, "size": list(size), "model": {"name": model}, "dream": {"steps": 1, "octaves": octaves, "octave_scale": scale}}
    path = tmp_path / "small.yaml"
    path.write_text(to_yaml(doc))
    assert run_main(capsys, "check", path)[0] == 0
    out_dir = tempfile.mkdtemp(dir=tmp_path)  # hypothesis reuses tmp_path across examples
    code, out, err = run_main(capsys, "render", path, "--set=frames=2", f"--set=output.dir={out_dir}", "--quiet")
    assert code == 0, err


@_settings(max_examples=60)
@given(section=st.sampled_from(["dream", "motion", "objective", "color"]), spec=st.one_of(schedule_specs, any_values))
def test_check_on_random_schedules(capsys, tmp_path, section, spec):
    """Every schedulable field takes numbers, {frame: value} maps and keyframe strings: fuzz them all."""
    fields = {
        "dream": ["steps", "step_size", "octaves", "octave_scale", "jitter", "tile"],
        "motion": ["zoom", "rotate", "pan_x", "pan_y", "sharpen", "center"],
        "color": ["strength"],
        "objective": ["weight"],
    }[section]
    path = tmp_path / "schedule.yaml"
    for field in fields:
        if section == "objective":
            doc = {**TINY, "dream": {**TINY["dream"], "objective": [{"layer": "_blocks.0", "weight": spec}]}}
        elif field == "center":
            doc = {**TINY, "motion": {"center": [0.5, spec]}}
        else:
            doc = {**TINY, section: {**TINY.get(section, {}), field: spec}}
        path.write_text(to_yaml(doc))
        code, out, err = run_main(capsys, "check", path)
        assert_clean_exit(code, out, err)


# --------------------------------------------------------------------------- 4. huge and out-of-range numbers


HUGE_CASES = [
    ("size=[1000000000, 1000000000]", "size"),
    ("frames=1000000000000000000000000000000", "frames"),
    ("fps=1e308", "fps"),
    ("fps=1.0e+308", "fps"),
    ("fps=.inf", "fps"),
    ("fps=.nan", "fps"),
    ("seed=-1", "seed"),
    ("seed=" + "9" * 400, "seed"),
    ("dream.steps=100000000000000000000", "dream.steps"),
    ('dream.steps="0:(1e400)"', "dream.steps"),
    ("dream.steps=" + "1" + "0" * 400, "dream.steps"),  # an int too large for a float
    ("motion.zoom=" + "1" + "0" * 400, "motion.zoom"),
    ("motion.zoom={" + "1" + "0" * 400 + ": 1.02}", "motion.zoom"),  # keyframe at frame 10**400
    ('motion.zoom="0:(1), ' + "9" * 400 + ':(2)"', None),  # a keyframe string: too far, but parseable
    ("motion.center=[" + "1" + "0" * 400 + ", 0.5]", "motion.center"),
    ("dream.objective=[{layer: _blocks.0, weight: " + "1" + "0" * 400 + "}]", "dream.objective"),
    ("start.noise.scale=" + "9" * 400, "start.noise.scale"),
    ("output.video.crf=" + "9" * 400, "output.video.crf"),
    ("frames=" + "9" * 5000, "frames"),  # more digits than Python turns into an int by default
    ("size=[64, " + "9" * 5000 + "]", "size"),
]


@pytest.mark.parametrize("override, key", HUGE_CASES, ids=[c[0][:40] for c in HUGE_CASES])
def test_check_huge_numbers_exit_2_with_one_line(capsys, tmp_path, override, key):
    path = tmp_path / "tiny.yaml"
    path.write_text(to_yaml(TINY))
    code, out, err = run_main(capsys, "check", path, f"--set={override}")
    assert_clean_exit(code, out, err, allowed=(0, 2) if key is None else (2,))
    if key is not None:
        assert key.split(".")[0] in err


@pytest.mark.parametrize(
    "doc",
    [
        {"frames": None, "duration": "9" * 308},  # finite seconds, infinite frames at 30 fps
        {"frames": None, "duration": "9" * 308 + "s"},
        {"frames": None, "duration": "9" * 400},
        {"frames": None, "duration": 1e308, "fps": 240},
        {"frames": None, "duration": "1" + "0" * 400},
    ],
    ids=["duration-308-digits", "duration-308-digits-s", "duration-400-digits", "duration-1e308", "duration-int-400"],
)
def test_check_huge_duration_exits_2(capsys, tmp_path, doc):
    path = tmp_path / "long.yaml"
    path.write_text(to_yaml({**TINY, **doc}))
    code, out, err = run_main(capsys, "check", path)
    assert_clean_exit(code, out, err, allowed=(2,))
    assert "duration" in err


def test_render_huge_numbers_exit_2_before_writing_anything(capsys, tmp_path, monkeypatch):
    """The huge-number cases of the issue, at render: refused at validation, so nothing is created."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(to_yaml(TINY))
    before = tree(tmp_path)
    for override in ["size=[1000000000, 1000000000]", "frames=" + "1" + "0" * 30, "fps=1e308", "seed=-1",
                     "dream.steps=" + "1" + "0" * 20, 'motion.zoom="0:(1e400)"', 'dream.steps="0:(1e400)"']:
        code, out, err = run_main(capsys, "render", path, "--quiet", f"--set={override}")
        assert_clean_exit(code, out, err, allowed=(2,))
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- YAML that attacks the parser


def _check_in_child(path: str, conn) -> None:
    err = io.StringIO()
    sys.stderr = err
    try:
        code: Any = main(["check", path])
    except BaseException as error:  # noqa: BLE001
        code = f"raised {type(error).__name__}: {str(error)[:200]}"
    conn.send((code, err.getvalue()[:2000]))
    conn.close()


def check_with_timeout(path: Path, seconds: float) -> tuple[Any, str]:
    """``check`` in a forked child, so a hang fails the test instead of stalling the suite."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_check_in_child, args=(str(path), send))
    child.start()
    ready = receive.poll(seconds)
    result = receive.recv() if ready else None
    child.join(1)
    if child.is_alive():
        child.kill()
        child.join()
    if result is None:
        pytest.fail(f"check {path.name} did not finish within {seconds} s (hang)")
    return result


def billion_laughs(target: str) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")  # 9**9 leaves at a8
    return "\n".join(lines).replace("a", "_a") + "\n" + target + "\n"


@pytest.mark.parametrize("target", ["frames: *_a8", "dream: {steps: *_a8}"])
def test_billion_laughs_is_refused_quickly(tmp_path, target):
    """YAML aliases that expand to 387 million strings: cheap to parse, but must not be expanded."""
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs(target))
    code, err = check_with_timeout(path, seconds=6)  # a fixed check takes milliseconds
    assert code == 2, (code, err[:300])
    assert err.startswith(ERROR_PREFIX) and err.count("\n") == 1 and len(err) < 2000


@pytest.mark.parametrize(
    "text",
    [
        "frames: " + "[" * 1000 + "]" * 1000,
        "frames: " + "{a: " * 1000 + "1" + "}" * 1000,
        "x:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(1000)) + "  " * 1001 + "1\n",
        "frames: " + "[" * 1000,
    ],
    ids=["nested-lists", "nested-maps", "nested-blocks", "unclosed-lists"],
)
def test_deeply_nested_yaml_exits_2(capsys, tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    code, out, err = run_main(capsys, "check", path)
    assert_clean_exit(code, out, err, allowed=(2,))


def test_config_path_that_is_not_a_file(capsys, tmp_path):
    for path in [tmp_path, tmp_path / "missing.yaml", tmp_path / "sub" / "missing.yaml"]:
        for command in ("check", "render"):
            code, out, err = run_main(capsys, command, path)
            assert_clean_exit(code, out, err, allowed=(2,))
            assert str(path) in err


# --------------------------------------------------------------------------- 2. render on mutated recipes


def _bad_file(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


# key path -> curated values (valid-but-cheap, boundary and wrong); "@..." names a file made per example
MUTATIONS: dict[str, list[Any]] = {
    "name": ["a", "..", "a/b", "-x", "x" * 101, "", "ok_name.v2", None, 5],
    "seed": [0, -1, 2**63 - 1, 2**63, 10**400, "x", 1.5],
    "size": [[32, 32], [64, 48], [31, 48], [8193, 48], [64], [64, 48, 3], "64x48", [None, 48], [10**9, 10**9]],
    "frames": [1, 3, 0, -1, 10**30, 1.5, "2", True, [], "x"],
    "duration": [0.1, "0.1s", "0s", -1, "1e400", "abc", None],
    "fps": [1, 12, 240, 241, 0, -1, 1e-300, 5e-324, math.nan, math.inf, "30"],
    "device": ["cpu", "auto", "cuda", "cuda:0", "mps", "tpu", ""],
    "precision": ["fp32", "fp16", "bf16", "fp64"],
    "start": [{"noise": {"kind": "gaussian", "scale": 4}}, {"image": ""}, {"image": None}, {"noise": None},
              {"noise": {}, "image": "@coffee"}, {"image": "@coffee", "fit": "contain"}, {"image": "@garbage"},
              {"image": "@folder"}, {"noise": {"kind": "pink"}}],
    "model": [{"name": "nonexistent"}, {"name": "resnet18"}, {"name": ""}, {"name": "efficientnet_lite0",
              "weights": "@garbage"}, {"name": "efficientnet_lite0", "weights": "@folder"},
              {"name": "efficientnet_lite0", "weights": "@empty"}, {"name": "efficientnet_lite0", "weights": ""}],
    "dream.steps": [0, 1, 2, 1001, -1, 1.5, "0:(1), 1:(0)", "0:(1e400)", "x:(", {0: 1, 1: 2}, 10**20],
    "dream.octaves": [1, 2, 0, 9, "0:(1), 1:(2)"],
    "dream.step_size": [0, 1, 1e-9, 2, math.nan, "0:(0.5)"],
    "dream.octave_scale": [1, 1.01, 4, 5],
    "dream.jitter": [0, 256, 257, 3.5],
    "dream.tile": [63, 64, 100, 8192, 8193],
    "dream.objective": [[], [{"layer": "_blocks.0"}], [{"layer": "nope"}], [{"layer": "_blocks.0", "channels": [0]}],
                        [{"layer": "_blocks.0", "channels": [10**6]}], [{"layer": "_blocks.0", "channels": []}],
                        [{"layer": "_blocks.0", "weight": "0:(1), 1:(-1)"}], "x", [{}], [{"layer": ""}]],
    "dream.interpolation": ["linear", "cubic", "ease", "step"],
    "motion.zoom": [1.02, 0.1, 0.10001, 10, 10.1, "0:(1), 1:(2)", {0: 1, "1s": 2}, "0:(1), 0:(2)"],
    "motion.rotate": [360, -361, "0:(0), 1:(90)"],
    "motion.pan_x": [4096, 4097, -4096],
    "motion.center": [[0, 1], [0.5], [2, 2], "x", [0.5, "0:(0), 1:(1)"]],
    "motion.per": ["frame", "second", "minute"],
    "motion.sharpen": [0, 4, 5],
    "color.match": ["none", "first_frame", "@coffee", "@garbage", "@folder", "@empty", "", "nowhere.png"],
    "color.strength": [0, 1, 1.01, "0:(0), 1:(1)"],
    "output.dir": ["out", "", ".", "a/b/c", "../outside", "@blocked"],
    "output.video": [None, {"codec": "libx265"}, {"crf": 52}, {}, {"codec": "vp9"}],
    "output.frames": [{"bit_depth": 16}, {"bit_depth": 12}, None, {"format": "jpg"}, {}],
    "output.checkpoint_every": [1, 0, 10001],
    "output.overwrite": [True, "yes", 2],
    "dreams": [{"steps": 1}],
    "motion.zom": [1.1],
    "frame": [3],
}


def _set_path(doc: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = doc
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


def _materialise(value: Any, files: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return files[value[1:]]
    if isinstance(value, dict):
        return {k: _materialise(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialise(v, files) for v in value]
    return value


@st.composite
def _mutation(draw, key: str) -> tuple[str, Any]:
    """Three times in four a curated value (valid first, then boundary and wrong); else any leaf."""
    if key == "output.dir" or draw(st.integers(0, 3)) < 3:  # a random "/" or "~" for output.dir
        return key, draw(st.sampled_from(MUTATIONS[key]))  # would be a real render into / or home
    return key, draw(leaf_values)


mutations = st.lists(
    st.sampled_from(sorted(MUTATIONS)).flatmap(_mutation),
    min_size=1,
    max_size=2,
    unique_by=lambda kv: kv[0],
)


def cheap_enough(config_path: Path) -> bool:
    """Whether a recipe that validates renders in about a second (a random frames: 50000 would not)."""
    try:
        config = load_config(config_path)
    except ConfigError:
        return True  # refused before any work
    if config.frame_count > 3 or config.size[0] * config.size[1] > 64 * 64:
        return False
    if config.model.name in ("inception_v3_tf", "efficientnet_lite2"):
        return False
    for field in config.schedules():
        if field.path in ("dream.steps", "dream.octaves"):
            clock = Clock(config.fps, config.frame_count)
            if Schedule.parse(field.spec, field.interpolation).values([0.0, 1.0, 2.0], clock).max() > 2:
                return False
    return True


@pytest.mark.slow
@_settings(max_examples=10)
@given(changes=mutations)
def test_render_on_mutated_tiny_config_exits_0_or_2_and_writes_only_its_folder(capsys, tmp_path, monkeypatch, changes):
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    inputs, cwd = work / "inputs", work / "cwd"
    inputs.mkdir()
    cwd.mkdir()
    (inputs / "folder").mkdir()
    (inputs / "blocker").write_text("a file where a folder should be")
    files = {
        "coffee": str(COFFEE),
        "garbage": _bad_file(inputs, "garbage.png", bytes(range(256)) * 3),
        "empty": _bad_file(inputs, "empty.jpg", b""),
        "folder": str(inputs / "folder"),
        "blocked": str(inputs / "blocker" / "out"),
    }
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY.items()}
    for key, value in changes:
        _set_path(doc, key, _materialise(value, files))
    config_path = inputs / "recipe.yaml"
    config_path.write_text(to_yaml(doc))
    monkeypatch.setenv("TORCH_HOME", str(work / "torch_home"))  # a torchvision name must not touch the real cache
    monkeypatch.chdir(cwd)
    assume(cheap_enough(config_path))

    try:
        allowed: Path | None = (cwd / load_config(config_path).output_dir()).resolve()
    except ConfigError:
        allowed = None
    assert allowed is None or inside(allowed, work.resolve())  # the recipes above never point elsewhere

    before = tree(work)
    code, out, err = run_main(capsys, "render", config_path, "--quiet")
    assert_clean_exit(code, out, err)
    assert code == 2 or allowed is not None, "a render succeeded although check refuses its config"
    new = {p.resolve() for p in tree(work) - before}
    # only the render folder, its contents, and the missing parents made on the way to it
    stray = sorted(str(p) for p in new if allowed is None or not (inside(p, allowed) or p in allowed.parents))
    assert not stray, f"render wrote outside its folder {allowed}: {stray}"
    if code == 0:
        assert (allowed / "render.json").is_file() and (allowed / "config.yaml").is_file()
        assert any(allowed.glob("*.mp4")) or (allowed / "frames").is_dir()
        assert not (allowed / "state").exists(), "checkpoint state left behind after a finished render"


# --------------------------------------------------------------------------- 3. bad start images


JPEG = COFFEE.read_bytes()


def pillow_can_load(path: Path) -> bool:
    """The oracle: a file Pillow itself cannot fully decode must be refused."""
    if not path.is_file():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with PIL.Image.open(path) as img:
                img.load()
    except Exception:  # noqa: BLE001
        return False
    return True


@st.composite
def bad_images(draw) -> tuple[str, bytes | None, bool]:
    """(file name, contents or None for a folder, whether render must refuse it whatever Pillow says)."""
    kind = draw(st.sampled_from(["truncated_jpeg", "truncated_jpeg", "empty", "random", "folder", "text", "bomb",
                                 "truncated_png"]))
    suffix = draw(st.sampled_from([".jpg", ".jpeg", ".png", ".webp", ".JPG", ""]))
    if kind == "truncated_jpeg":
        cut = draw(st.integers(0, len(JPEG) - 1))
        return f"cut{cut}.jpg", JPEG[:cut], False  # a JPEG cut near its end may still decode: ask Pillow
    if kind == "truncated_png":
        whole = png(64, 64)
        cut = draw(st.integers(0, len(whole) - 1))
        return f"cut{cut}.png", whole[:cut], False
    if kind == "empty":
        return "empty" + suffix, b"", True
    if kind == "random":
        return "random" + suffix, draw(st.binary(min_size=1, max_size=300)), False  # might be a TGA, say
    if kind == "folder":
        return "folder" + suffix, None, True
    if kind == "text":
        return "notes" + suffix, draw(st.text(min_size=1, max_size=100)).encode("utf-8"), False
    side = draw(st.integers(15000, 40000))
    return f"bomb{side}.png", png(side, side, rows=1), True


@pytest.mark.slow
@_settings(max_examples=10)
@given(image=bad_images())
def test_bad_start_image_is_one_line_naming_the_file(capsys, tmp_path, monkeypatch, image):
    name, data, must_refuse = image
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    monkeypatch.chdir(work)
    path = work / name
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    config_path = work / "recipe.yaml"
    config_path.write_text(to_yaml({**TINY, "output": {"dir": str(work / "out")}}))

    code, out, err = run_main(capsys, "check", config_path, f"--set=start.image={path}")
    assert_clean_exit(code, out, err)

    must_refuse = must_refuse or not pillow_can_load(path)
    code, out, err = run_main(capsys, "render", config_path, "--quiet", f"--set=start.image={path}")
    assert_clean_exit(code, out, err, allowed=(2,) if must_refuse else (0, 2))
    if code == 2:
        assert str(path) in err, err
    stray = [p for p in tree(work) - {path, config_path} if not inside(p, work / "out")]
    assert not stray, f"render wrote outside its folder: {stray}"


def test_decompression_bomb_over_the_pillow_limit_is_refused(capsys, tmp_path):
    """A real, fully valid 20000x20000 PNG of 400 million pixels in about 50 KB."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png(20000, 20000))
    assert bomb.stat().st_size < 200_000
    config_path = tmp_path / "recipe.yaml"
    config_path.write_text(to_yaml({**TINY, "output": {"dir": str(tmp_path / "out")}}))
    code, out, err = run_main(capsys, "render", config_path, "--quiet", f"--set=start.image={bomb}")
    assert_clean_exit(code, out, err, allowed=(2,))
    assert str(bomb) in err and "decompression bomb" in err


def test_image_over_the_pillow_warning_limit_is_refused_too(capsys, tmp_path):
    """10000x10000 = 100 million pixels declared by a 75-byte file: over Pillow's bomb *warning* limit (89 M) but
    under its error limit (179 M), and more than any frame (8192 x 8192 = 67 M). Pillow only warns and
    decodes it all -- about 10 s and 2-3 GB of memory here, and up to 179 M pixels pass that way -- so the
    loader must refuse it from the declared size. (The file carries one row of data; Pillow fills the
    rest with black, so decoding costs the same as a complete file.)"""
    bomb = tmp_path / "big.png"
    bomb.write_bytes(png(10000, 10000, rows=1))
    config_path = tmp_path / "recipe.yaml"
    config_path.write_text(to_yaml({**TINY, "output": {"dir": str(tmp_path / "out")}}))
    code, out, err = run_main(capsys, "render", config_path, "--quiet", f"--set=start.image={bomb}")
    assert_clean_exit(code, out, err, allowed=(2,))
    assert str(bomb) in err and ("too large" in err or "decompression bomb" in err), err


@pytest.mark.parametrize("field", ["start.image", "color.match"])
def test_empty_image_path_is_refused(capsys, tmp_path, monkeypatch, field):
    """``start: {image: ''}`` passes check today; render must then fail as one line, not an assert."""
    monkeypatch.chdir(tmp_path)
    config_path = tmp_path / "recipe.yaml"
    config_path.write_text(to_yaml({**TINY, "output": {"dir": str(tmp_path / "out")}}))
    code, out, err = run_main(capsys, "check", config_path, f"--set={field}=''")
    assert_clean_exit(code, out, err)
    code, out, err = run_main(capsys, "render", config_path, "--quiet", f"--set={field}=''")
    assert_clean_exit(code, out, err)
