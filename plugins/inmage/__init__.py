"""The inmage fabric plugin."""
