"""The README's config reference is the schema's, so the docs cannot drift from the code."""

import re
from pathlib import Path

from zoomdream.config.reference import END, START, markdown

README = Path(__file__).parent.parent / "README.md"


def test_readme_config_reference_matches_the_schema():
    text = README.read_text()
    block = text[text.index(START) : text.index(END) + len(END)]
    assert block == markdown(), "regenerate it: zoomdream schema --update-readme README.md"


def test_every_schema_key_is_documented():
    text = README.read_text()
    for key in ("motion.zoom", "dream.objective[].channels", "output.frames.bit_depth", "start.fit", "color.reference"):
        assert f"| `{key}` |" in text


def test_readme_quick_start_commands_exist():
    text = README.read_text()
    assert re.search(r"^pip install -e \"\.\[test[,\w]*\]\"", text, re.M)
    assert "zoomdream render configs/quickstart.yaml" in text
    assert re.search(r"^pytest( |$)", text, re.M)
