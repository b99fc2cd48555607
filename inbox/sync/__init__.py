"""Sync: the provider contract and the service that schedules fetches and sends."""
