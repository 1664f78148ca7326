"""The vmware fabric plugin."""
