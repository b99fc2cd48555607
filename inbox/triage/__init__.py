"""Triage: language, sentiment, priority rules, the crisis detector, assignment."""
