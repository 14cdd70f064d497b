"""`stx` sub-commands for fast_style (not yet written)."""


def register(subparsers) -> None:
    """Add this feature's sub-commands to ``stx``."""
