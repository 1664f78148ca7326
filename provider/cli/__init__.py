"""The ``srp`` command line."""
