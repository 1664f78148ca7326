"""Simulated fabrics, disks, clocks and targets: public API for testers and plugin authors."""
