"""Inbox: one threaded queue for customer conversations on X, Facebook, email and web forms."""

__version__ = "0.1.0"
