"""Team mode on the desktop: the sync core that keeps the local store a replica of what a team
server lets its agent see, and sends the agent's changes as intents.

Plain Python with httpx and websockets, no Qt: ``client`` (the HTTP API and its failures),
``presence`` (who is viewing or replying where, in memory), ``sync`` (pull by cursor on each
"changed up to N" push, push intents in order, offline and back), ``commands`` (the agent's
changes as intents: the commands port of the UI), ``account`` (join and leave a team; the
session token in the keyring). The SQL is in :mod:`inbox.store.replica`.
"""
