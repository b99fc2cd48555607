"""Fixtures of the Facebook provider tests."""

from tests.providers.facebook.fake_graph import fake_graph

__all__ = ["fake_graph"]
