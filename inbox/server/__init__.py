"""Team mode: ``inbox serve``, an ASGI service over PostgreSQL shared by a support team.

An adapter like the UI and the store: it imports the core (and may import the providers), never
``inbox.ui`` or ``inbox.store``. PostgreSQL is the one source of truth; server processes keep no
state of their own, so any number of them can run behind a reverse proxy.
"""
