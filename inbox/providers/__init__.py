"""Adapters to the outside services: one contract (``base``), one error mapping (``failures``)."""
