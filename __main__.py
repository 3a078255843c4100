"""`python -m tfparity`: the `tfparity` command."""

import sys

from tfparity.benchmarks.cli import main

sys.exit(main())
