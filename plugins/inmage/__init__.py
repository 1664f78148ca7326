"""The ``inmage`` plugin: InMage Scout deployments over the CX API (scenario S5)."""
