"""The error every command raises for bad input."""


class UsageError(Exception):
    """Bad input found before any work starts: one line on stderr, exit status 2.

    Not a ValueError: argparse would turn that, raised by a `type=` function, into its own
    message without ours.
    """
