"""A plugin whose import fails: its vendor SDK is missing."""

raise ImportError("No module named 'vendor_sdk'")
