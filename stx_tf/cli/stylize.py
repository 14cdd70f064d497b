"""`stx` sub-commands for stylize (not yet written)."""


def register(subparsers) -> None:
    """Add this feature's sub-commands to ``stx``."""
