"""Fixtures of the X channel tests: the fake X API server."""

from tests.providers.twitter.fake_x import fake_x

__all__ = ["fake_x"]
