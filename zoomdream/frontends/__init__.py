"""The front-ends: each calls ``zoomdream.api`` and nothing below it (the CLI, the studio, sweeps)."""
