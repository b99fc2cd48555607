"""French and English for the interface, following the system locale and switchable.

A small catalogue keyed by the English text: the app has a few hundred strings, all here, so a
translator sees them in one place.
"""

from __future__ import annotations

import locale
import os

FR: dict[str, str] = {
    "Unassigned": "Non assignées",
    "Mine": "Les miennes",
    "All open": "Toutes ouvertes",
    "Pending": "En attente",
    "Solved": "Résolues",
    "SLA at risk": "SLA en danger",
    "Breached": "SLA dépassé",
    "Views": "Vues",
    "Channels": "Canaux",
    "Tags": "Étiquettes",
    "Search all messages (/)": "Rechercher dans tous les messages (/)",
    "Customer": "Client",
    "Identities": "Identités",
    "History": "Historique",
    "Suggested links": "Liens suggérés",
    "Accept": "Accepter",
    "Reject": "Refuser",
    "CRM number": "N° client CRM",
    "Notes": "Notes",
    "Reply": "Répondre",
    "Note": "Note",
    "Send": "Envoyer",
    "Send and set pending": "Envoyer et mettre en attente",
    "Send and solve": "Envoyer et résoudre",
    "Private note (only the team sees it)": "Note privée (visible par l'équipe seulement)",
    "Write a reply…": "Écrire une réponse…",
    "characters left": "caractères restants",
    "Messenger window closes in": "La fenêtre Messenger se ferme dans",
    "Messenger window closed: the customer must write first": "Fenêtre Messenger fermée : le client doit écrire d'abord",
    "Select a conversation": "Sélectionnez une conversation",
    "queued": "en file",
    "sending": "envoi…",
    "sent": "envoyé",
    "failed": "échec",
    "uncertain": "peut-être envoyé",
    "Offline: replies wait in the outbox and go out when the network is back":
        "Hors ligne : les réponses attendent dans la boîte d'envoi et partiront au retour du réseau",
    "Keyboard shortcuts": "Raccourcis clavier",
    "new": "nouvelle",
    "open": "ouverte",
    "pending": "en attente",
    "solved": "résolue",
    "closed": "fermée",
    "low": "basse",
    "normal": "normale",
    "high": "haute",
    "urgent": "urgente",
    "first reply": "1re réponse",
    "next reply": "réponse suivante",
    "resolution": "résolution",
    "no customer": "aucun client",
    "Reply as public post": "Réponse publique",
    "Reply by DM": "Réponse en message privé",
    "Reply by email": "Réponse par e-mail",
    "Reply on Messenger": "Réponse Messenger",
    "Reply to comment": "Réponse au commentaire",
    "conversations": "conversations",
    "Tag": "Étiquette",
    "Assign to me": "M'assigner",
    "Dashboard": "Tableau de bord",
    "Queue": "File",
    "Accounts": "Comptes",
    "up to date": "à jour",
    "syncing": "synchronisation",
    "offline": "hors ligne",
    "needs sign-in": "connexion requise",
    "error": "erreur",
    "idle": "en veille",
    "Attachments": "Pièces jointes",
    "Remote content blocked": "Contenu distant bloqué",
    "Show original HTML": "Afficher le HTML d'origine",
    "Merge into…": "Fusionner avec…",
    "Open": "Ouvrir",
    "Status": "Statut",
    "Priority": "Priorité",
    "Assignee": "Assigné à",
    "SLA": "SLA",
    "met": "tenu",
    "due": "échéance",
    "ok": "dans les temps",
    "warning": "bientôt dépassé",
    "breached": "dépassé",
    "paused": "en pause",
    "warned": "alerte",
    "fulfilled": "tenu",
    "resumed": "reprise",
    "Mute notifications": "Couper les notifications",
    "Notifications muted": "Notifications coupées",
    "Notifications on": "Notifications activées",
    "demo workspace: replies are kept in the outbox, nothing is sent":
        "espace de démonstration : les réponses restent dans la boîte d'envoi, rien n'est envoyé",
    # Team lead's dashboard and reports
    "Crisis alerts": "Alertes de crise",
    "Crisis: {n} negative public messages in the last hour (usually {u})":
        "Crise : {n} messages publics négatifs dans la dernière heure (d'habitude {u})",
    "Channel": "Canal",
    "Total": "Total",
    "Conversation": "Conversation",
    "Due in": "Échéance dans",
    "Overdue": "Dépassé de",
    "Subject": "Sujet",
    "Waiting": "Attente",
    "Agent": "Agent",
    "Max load": "Charge max",
    "Open conversations": "Conversations ouvertes",
    "Oldest unanswered": "Plus ancien message sans réponse",
    "Agent load": "Charge par agent",
    "Report": "Rapport",
    "Report by": "Rapport par",
    "by channel": "par canal",
    "by policy": "par politique",
    "by agent": "par agent",
    "by day": "par jour",
    "Export CSV…": "Exporter en CSV…",
    "Report, last {d} days": "Rapport, {d} derniers jours",
    "Customer messages per channel (4 h)": "Messages clients par canal (4 h)",
    "Waiting on us (last hours)": "En attente de notre réponse (dernières heures)",
    "hours before now": "heures avant maintenant",
    "First reply time": "Délai de première réponse",
    "SLA met per channel (%)": "SLA respecté par canal (%)",
    "SLA met per policy (%)": "SLA respecté par politique (%)",
    "Received": "Reçues",
    "First reply median": "1re réponse, médiane",
    "First reply p90": "1re réponse, p90",
    "Resolution median": "Résolution, médiane",
    "Resolution p90": "Résolution, p90",
    "First reply SLA": "SLA 1re réponse",
    "Next reply SLA": "SLA réponse suivante",
    "Resolution SLA": "SLA résolution",
}


def system_language() -> str:
    for var in ("INBOX_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "fr" if code.lower().startswith("fr") else "en"


class Translator:
    """``tr("Pending")`` in the current language; ``set_language`` switches at run time."""

    def __init__(self, language: str | None = None) -> None:
        self.language = language or system_language()

    def set_language(self, language: str) -> None:
        self.language = "fr" if language == "fr" else "en"

    def __call__(self, text: str) -> str:
        if self.language == "fr":
            return FR.get(text, text)
        return text
