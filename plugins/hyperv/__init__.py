"""The hyperv fabric plugin."""
