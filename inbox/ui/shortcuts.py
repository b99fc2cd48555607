"""Every keyboard shortcut of the main window, in English and French (the ? dialog lists them)."""

from __future__ import annotations

SHORTCUTS = [
    ("j / ↓", "next conversation", "conversation suivante"),
    ("k / ↑", "previous conversation", "conversation précédente"),
    ("Enter", "open the thread", "ouvrir le fil"),
    ("r", "reply", "répondre"),
    ("n", "private note", "note privée"),
    ("e", "solve", "résoudre"),
    ("p", "set pending", "mettre en attente"),
    ("o", "reopen", "rouvrir"),
    ("a", "assign to me", "m'assigner"),
    ("Shift+A", "assign to an agent", "assigner à un agent"),
    ("t", "add a tag", "ajouter une étiquette"),
    ("!", "raise priority", "augmenter la priorité"),
    ("/", "search", "rechercher"),
    ("Ctrl+Enter", "send", "envoyer"),
    ("Ctrl+Shift+P / S", "send and set pending / solve", "envoyer et mettre en attente / résoudre"),
    ("Esc", "back to the queue", "retour à la file"),
    ("m", "mute / unmute notifications", "couper / rétablir les notifications"),
    ("Ctrl+K", "canned responses in the composer", "réponses types dans l'éditeur"),
    ("Ctrl+1 / Ctrl+2", "queue / dashboard", "file / tableau de bord"),
    ("Ctrl+,", "settings: accounts and SLA policies", "réglages : comptes et politiques SLA"),
    ("?", "this list", "cette liste"),
]
