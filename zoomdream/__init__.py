"""zoomdream: DeepDream infinite-zoom videos from a YAML recipe.

    import zoomdream
    result = zoomdream.render("configs/quickstart.yaml", frames=24, dream__steps=2)
    print(result.video)
"""

__version__ = "0.2.0"

from .config import Config, ConfigError, load_config  # noqa: E402
from .render import RenderError, RenderResult, render  # noqa: E402

__all__ = ["Config", "ConfigError", "RenderError", "RenderResult", "load_config", "render", "__version__"]
