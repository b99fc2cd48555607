"""Benchmarks of Inbox at call-centre scale (``make bench``; see bench/RESULTS.md)."""
