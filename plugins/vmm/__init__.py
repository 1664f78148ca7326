"""The vmm fabric plugin."""
