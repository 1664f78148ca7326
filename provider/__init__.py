"""srp core: hook specifications, plugin manager, domain model, vault, data path."""

__version__ = "0.1.0"
