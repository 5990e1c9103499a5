import pytest
import torch

from zoomdream.frontends.cli import main


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def tiny_config(tmp_path):
    """A small valid recipe in a temporary folder, rendering into that folder."""
    from helpers import tiny_recipe

    return tiny_recipe(tmp_path, output=f"{{dir: {tmp_path / 'out'}, frames: {{bit_depth: 8}}}}")


def rendered(renderer, total=None):
    """The frames a render would write, driven through Renderer.frames(): (n, B, 3, H, W)."""
    out = [frames for _, frames in renderer.frames()]
    return torch.cat(out)[:total]
