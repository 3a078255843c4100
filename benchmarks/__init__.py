"""tfparity's top floor: the style registry, the CLI, the benchmark suite and cross-style tools."""
