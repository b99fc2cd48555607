"""Composition: builds the window, the live sync, settings, the demo workspace and logging."""
