"""`stx` sub-commands for serve (not yet written)."""


def register(subparsers) -> None:
    """Add this feature's sub-commands to ``stx``."""
