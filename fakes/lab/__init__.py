"""The simulated lab: fabrics served on loopback over their real protocols.

``srp lab up`` starts :mod:`fakes.lab.process` in the background: simulated
Hyper-V hosts behind loopback WinRM servers (Basic and NTLM), running
workloads on their VMs, and a lab file saying what runs where and with
which (generated) credentials. ``srp lab down`` stops it.
"""
