"""The provider service (``srp serve``): a REST API over the vault, its scheduler and jobs."""
