"""Conversations and customers: which conversation a message joins, identities, the CRM."""
