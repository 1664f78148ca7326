"""The simulated lab: fabrics served on loopback over their real protocols.

``srp lab up --scenario S1|S2|S3|S4|S5|all`` starts :mod:`fakes.lab.process`
in the background: the scenario's fabrics (:mod:`fakes.lab.scenarios`:
Hyper-V hosts and VMM servers over loopback WinRM, a vCenter and a mobility
service over HTTP, an InMage CX over HTTPS) with workloads on their disks,
and a lab file (:mod:`fakes.lab.labfile`) saying what runs where, with the
(generated) credentials and the connection options each plugin needs.
``srp lab down`` stops it.
"""
