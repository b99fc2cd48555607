"""Replies: composing per channel and surface, the outbox state machine, canned responses."""
