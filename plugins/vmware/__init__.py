"""The vmware fabric plugin: vCenter over the vSphere REST and JSON APIs with CBT, and
physical servers through the mobility service."""
