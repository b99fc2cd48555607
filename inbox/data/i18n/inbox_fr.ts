<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR" sourcelanguage="en">
<context>
    <name>Inbox</name>
    <message>
        <source>Unassigned</source>
        <translation>Non assignées</translation>
    </message>
    <message>
        <source>Mine</source>
        <translation>Les miennes</translation>
    </message>
    <message>
        <source>All open</source>
        <translation>Toutes ouvertes</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>En attente</translation>
    </message>
    <message>
        <source>Solved</source>
        <translation>Résolues</translation>
    </message>
    <message>
        <source>SLA at risk</source>
        <translation>SLA en danger</translation>
    </message>
    <message>
        <source>Breached</source>
        <translation>SLA dépassé</translation>
    </message>
    <message>
        <source>Views</source>
        <translation>Vues</translation>
    </message>
    <message>
        <source>Channels</source>
        <translation>Canaux</translation>
    </message>
    <message>
        <source>Tags</source>
        <translation>Étiquettes</translation>
    </message>
    <message>
        <source>Search all messages (/)</source>
        <translation>Rechercher dans tous les messages (/)</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>Client</translation>
    </message>
    <message>
        <source>Identities</source>
        <translation>Identités</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Historique</translation>
    </message>
    <message>
        <source>Suggested links</source>
        <translation>Liens suggérés</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Accepter</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>Refuser</translation>
    </message>
    <message>
        <source>CRM number</source>
        <translation>N° client CRM</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notes</translation>
    </message>
    <message>
        <source>Reply</source>
        <translation>Répondre</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>Note</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Envoyer</translation>
    </message>
    <message>
        <source>Send and set pending</source>
        <translation>Envoyer et mettre en attente</translation>
    </message>
    <message>
        <source>Send and solve</source>
        <translation>Envoyer et résoudre</translation>
    </message>
    <message>
        <source>Private note (only the team sees it)</source>
        <translation>Note privée (visible par l'équipe seulement)</translation>
    </message>
    <message>
        <source>Write a reply…</source>
        <translation>Écrire une réponse…</translation>
    </message>
    <message>
        <source>characters left</source>
        <translation>caractères restants</translation>
    </message>
    <message>
        <source>Messenger window closes in</source>
        <translation>La fenêtre Messenger se ferme dans</translation>
    </message>
    <message>
        <source>Messenger window closed: the customer must write first</source>
        <translation>Fenêtre Messenger fermée : le client doit écrire d'abord</translation>
    </message>
    <message>
        <source>Select a conversation</source>
        <translation>Sélectionnez une conversation</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>en file</translation>
    </message>
    <message>
        <source>sending</source>
        <translation>envoi…</translation>
    </message>
    <message>
        <source>sent</source>
        <translation>envoyé</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>échec</translation>
    </message>
    <message>
        <source>uncertain</source>
        <translation>peut-être envoyé</translation>
    </message>
    <message>
        <source>Offline: replies wait in the outbox and go out when the network is back</source>
        <translation>Hors ligne : les réponses attendent dans la boîte d'envoi et partiront au retour du réseau</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>Raccourcis clavier</translation>
    </message>
    <message>
        <source>new</source>
        <translation>nouvelle</translation>
    </message>
    <message>
        <source>open</source>
        <translation>ouverte</translation>
    </message>
    <message>
        <source>pending</source>
        <translation>en attente</translation>
    </message>
    <message>
        <source>solved</source>
        <translation>résolue</translation>
    </message>
    <message>
        <source>closed</source>
        <translation>fermée</translation>
    </message>
    <message>
        <source>low</source>
        <translation>basse</translation>
    </message>
    <message>
        <source>normal</source>
        <translation>normale</translation>
    </message>
    <message>
        <source>high</source>
        <translation>haute</translation>
    </message>
    <message>
        <source>urgent</source>
        <translation>urgente</translation>
    </message>
    <message>
        <source>first reply</source>
        <translation>1re réponse</translation>
    </message>
    <message>
        <source>next reply</source>
        <translation>réponse suivante</translation>
    </message>
    <message>
        <source>resolution</source>
        <translation>résolution</translation>
    </message>
    <message>
        <source>no customer</source>
        <translation>aucun client</translation>
    </message>
    <message>
        <source>Reply as public post</source>
        <translation>Réponse publique</translation>
    </message>
    <message>
        <source>Reply by DM</source>
        <translation>Réponse en message privé</translation>
    </message>
    <message>
        <source>Reply by email</source>
        <translation>Réponse par e-mail</translation>
    </message>
    <message>
        <source>Reply on Messenger</source>
        <translation>Réponse Messenger</translation>
    </message>
    <message>
        <source>Reply to comment</source>
        <translation>Réponse au commentaire</translation>
    </message>
    <message>
        <source>conversations</source>
        <translation>conversations</translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>Étiquette</translation>
    </message>
    <message>
        <source>Assign to me</source>
        <translation>M'assigner</translation>
    </message>
    <message>
        <source>Dashboard</source>
        <translation>Tableau de bord</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>File d'attente</translation>
    </message>
    <message>
        <source>Accounts</source>
        <translation>Comptes</translation>
    </message>
    <message>
        <source>up to date</source>
        <translation>à jour</translation>
    </message>
    <message>
        <source>syncing</source>
        <translation>synchronisation</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>hors ligne</translation>
    </message>
    <message>
        <source>needs sign-in</source>
        <translation>connexion requise</translation>
    </message>
    <message>
        <source>error</source>
        <translation>erreur</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>en veille</translation>
    </message>
    <message>
        <source>Attachments</source>
        <translation>Pièces jointes</translation>
    </message>
    <message>
        <source>Remote content blocked</source>
        <translation>Contenu distant bloqué</translation>
    </message>
    <message>
        <source>Show original HTML</source>
        <translation>Afficher le HTML d'origine</translation>
    </message>
    <message>
        <source>Merge into…</source>
        <translation>Fusionner avec…</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Ouvrir</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Statut</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Priorité</translation>
    </message>
    <message>
        <source>Assignee</source>
        <translation>Assigné à</translation>
    </message>
    <message>
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <source>met</source>
        <translation>tenu</translation>
    </message>
    <message>
        <source>due</source>
        <translation>échéance</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>dans les temps</translation>
    </message>
    <message>
        <source>warning</source>
        <translation>bientôt dépassé</translation>
    </message>
    <message>
        <source>breached</source>
        <translation>dépassé</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>en pause</translation>
    </message>
    <message>
        <source>warned</source>
        <translation>alerte</translation>
    </message>
    <message>
        <source>fulfilled</source>
        <translation>tenu</translation>
    </message>
    <message>
        <source>resumed</source>
        <translation>reprise</translation>
    </message>
    <message>
        <source>Mute notifications</source>
        <translation>Couper les notifications</translation>
    </message>
    <message>
        <source>Unhappy customers</source>
        <translation>Clients mécontents</translation>
    </message>
    <message>
        <source>Original formatting</source>
        <translation>Mise en forme d'origine</translation>
    </message>
    <message>
        <source>Show original formatting</source>
        <translation>Afficher la mise en forme d'origine</translation>
    </message>
    <message>
        <source>links open nothing from here</source>
        <translation>aucun lien ne s'ouvre d'ici</translation>
    </message>
    <message>
        <source>Where the links go</source>
        <translation>Où mènent les liens</translation>
    </message>
    <message>
        <source>misleading</source>
        <translation>trompeur</translation>
    </message>
    <message>
        <source>Sign in with X in the browser</source>
        <translation>Se connecter à X dans le navigateur</translation>
    </message>
    <message>
        <source>Finish signing in in your browser…</source>
        <translation>Terminez la connexion dans votre navigateur…</translation>
    </message>
    <message>
        <source>Signed in</source>
        <translation>Connecté</translation>
    </message>
    <message>
        <source>Reply privately</source>
        <translation>Répondre en privé</translation>
    </message>
    <message>
        <source>click to save</source>
        <translation>cliquer pour enregistrer</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>Nouvelle conversation</translation>
    </message>
    <message>
        <source>Filter</source>
        <translation>Filtre</translation>
    </message>
    <message>
        <source>Profile picture</source>
        <translation>Photo de profil</translation>
    </message>
    <message>
        <source>Switch the interface language</source>
        <translation>Changer la langue de l'interface</translation>
    </message>
    <message>
        <source>The language changes at the next start</source>
        <translation>La langue change au prochain démarrage</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>E-mail</translation>
    </message>
    <message>
        <source>Web forms</source>
        <translation>Formulaires web</translation>
    </message>
    <message>
        <source>Save attachment</source>
        <translation>Enregistrer la pièce jointe</translation>
    </message>
    <message>
        <source>The attachment file is missing</source>
        <translation>Le fichier de la pièce jointe est introuvable</translation>
    </message>
    <message>
        <source>Move a public post to a direct message (X) or answer a comment in Messenger</source>
        <translation>Passer un message public en message privé (X) ou répondre à un commentaire par Messenger</translation>
    </message>
    <message>
        <source>Notifications muted</source>
        <translation>Notifications coupées</translation>
    </message>
    <message>
        <source>Notifications on</source>
        <translation>Notifications activées</translation>
    </message>
    <message>
        <source>demo workspace: replies are kept in the outbox, nothing is sent</source>
        <translation>espace de démonstration : les réponses restent dans la boîte d'envoi, rien n'est envoyé</translation>
    </message>
    <message>
        <source>demo workspace</source>
        <translation>espace de démonstration</translation>
    </message>
    <message>
        <source>Sort</source>
        <translation>Tri</translation>
    </message>
    <message>
        <source>Most urgent</source>
        <translation>Plus urgentes</translation>
    </message>
    <message>
        <source>Newest</source>
        <translation>Plus récentes</translation>
    </message>
    <message>
        <source>Oldest</source>
        <translation>Plus anciennes</translation>
    </message>
    <message>
        <source>Thread</source>
        <translation>Fil</translation>
    </message>
    <message>
        <source>SLA policy</source>
        <translation>Politique SLA</translation>
    </message>
    <message>
        <source>Crisis alert</source>
        <translation>Alerte de crise</translation>
    </message>
    <message>
        <source>A burst of negative public messages: see the dashboard</source>
        <translation>Une rafale de messages publics négatifs : voir le tableau de bord</translation>
    </message>
    <message>
        <source>SLA breached: first reply</source>
        <translation>SLA dépassé : 1re réponse</translation>
    </message>
    <message>
        <source>SLA breached: next reply</source>
        <translation>SLA dépassé : réponse suivante</translation>
    </message>
    <message>
        <source>SLA breached: resolution</source>
        <translation>SLA dépassé : résolution</translation>
    </message>
    <message>
        <source>SLA warning: first reply</source>
        <translation>Alerte SLA : 1re réponse</translation>
    </message>
    <message>
        <source>SLA warning: next reply</source>
        <translation>Alerte SLA : réponse suivante</translation>
    </message>
    <message>
        <source>SLA warning: resolution</source>
        <translation>Alerte SLA : résolution</translation>
    </message>
    <message>
        <source>Crisis alerts</source>
        <translation>Alertes de crise</translation>
    </message>
    <message>
        <source>Crisis: {n} negative public messages in the last hour (usually {u})</source>
        <translation>Crise : {n} messages publics négatifs dans la dernière heure (d'habitude {u})</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Total</translation>
    </message>
    <message>
        <source>Conversation</source>
        <translation>Conversation</translation>
    </message>
    <message>
        <source>Due in</source>
        <translation>Échéance dans</translation>
    </message>
    <message>
        <source>Overdue</source>
        <translation>Dépassé de</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Sujet</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>Attente</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>Agent</translation>
    </message>
    <message>
        <source>Max load</source>
        <translation>Charge max</translation>
    </message>
    <message>
        <source>Open conversations</source>
        <translation>Conversations ouvertes</translation>
    </message>
    <message>
        <source>Oldest unanswered</source>
        <translation>Plus ancien message sans réponse</translation>
    </message>
    <message>
        <source>Agent load</source>
        <translation>Charge par agent</translation>
    </message>
    <message>
        <source>Report</source>
        <translation>Rapport</translation>
    </message>
    <message>
        <source>Report by</source>
        <translation>Rapport par</translation>
    </message>
    <message>
        <source>by channel</source>
        <translation>par canal</translation>
    </message>
    <message>
        <source>by policy</source>
        <translation>par politique</translation>
    </message>
    <message>
        <source>by agent</source>
        <translation>par agent</translation>
    </message>
    <message>
        <source>by day</source>
        <translation>par jour</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>Exporter en CSV…</translation>
    </message>
    <message>
        <source>Report, last {d} days</source>
        <translation>Rapport, {d} derniers jours</translation>
    </message>
    <message>
        <source>Customer messages per channel (4 h)</source>
        <translation>Messages clients par canal (4 h)</translation>
    </message>
    <message>
        <source>Waiting on us (last hours)</source>
        <translation>En attente de notre réponse (dernières heures)</translation>
    </message>
    <message>
        <source>hours before now</source>
        <translation>heures avant maintenant</translation>
    </message>
    <message>
        <source>First reply time</source>
        <translation>Délai de première réponse</translation>
    </message>
    <message>
        <source>SLA met per channel (%)</source>
        <translation>SLA respecté par canal (%)</translation>
    </message>
    <message>
        <source>SLA met per policy (%)</source>
        <translation>SLA respecté par politique (%)</translation>
    </message>
    <message>
        <source>Received</source>
        <translation>Reçues</translation>
    </message>
    <message>
        <source>First reply median</source>
        <translation>1re réponse, médiane</translation>
    </message>
    <message>
        <source>First reply p90</source>
        <translation>1re réponse, p90</translation>
    </message>
    <message>
        <source>Resolution median</source>
        <translation>Résolution, médiane</translation>
    </message>
    <message>
        <source>Resolution p90</source>
        <translation>Résolution, p90</translation>
    </message>
    <message>
        <source>First reply SLA</source>
        <translation>SLA 1re réponse</translation>
    </message>
    <message>
        <source>Next reply SLA</source>
        <translation>SLA réponse suivante</translation>
    </message>
    <message>
        <source>Resolution SLA</source>
        <translation>SLA résolution</translation>
    </message>
    <message>
        <source>Canned responses</source>
        <translation>Réponses types</translation>
    </message>
    <message>
        <source>Search canned responses…</source>
        <translation>Rechercher une réponse type…</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Langue</translation>
    </message>
    <message>
        <source>All languages</source>
        <translation>Toutes les langues</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>Aperçu</translation>
    </message>
    <message>
        <source>↑↓ choose · Enter insert · Esc close</source>
        <translation>↑↓ choisir · Entrée insérer · Échap fermer</translation>
    </message>
    <message>
        <source>No canned response matches</source>
        <translation>Aucune réponse type ne correspond</translation>
    </message>
    <message>
        <source>To complete before sending:</source>
        <translation>À compléter avant l'envoi :</translation>
    </message>
    <message>
        <source>Manage canned responses</source>
        <translation>Gérer les réponses types</translation>
    </message>
    <message>
        <source>New response</source>
        <translation>Nouvelle réponse</translation>
    </message>
    <message>
        <source>comma-separated</source>
        <translation>séparées par des virgules</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>Titre</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>Texte</translation>
    </message>
    <message>
        <source>Placeholders:</source>
        <translation>Champs à remplir :</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Message</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Supprimer</translation>
    </message>
    <message>
        <source>Click again to delete</source>
        <translation>Cliquez à nouveau pour supprimer</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Enregistrer</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Fermer</translation>
    </message>
    <message>
        <source>Not a placeholder the app fills:</source>
        <translation>Champ inconnu de l'application :</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Paramètres</translation>
    </message>
    <message>
        <source>SLA policies</source>
        <translation>Politiques SLA</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <source>Account id</source>
        <translation>Identifiant du compte</translation>
    </message>
    <message>
        <source>The account's own id: mailbox address, Page id, X user id, form id</source>
        <translation>L'identifiant propre du compte : adresse de la boîte, ID de la Page, ID utilisateur X, ID du formulaire</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Type</translation>
    </message>
    <message>
        <source>State</source>
        <translation>État</translation>
    </message>
    <message>
        <source>rate limited</source>
        <translation>limite de débit</translation>
    </message>
    <message>
        <source>required</source>
        <translation>obligatoire</translation>
    </message>
    <message>
        <source>Also wipe its local data (conversations and messages)</source>
        <translation>Effacer aussi ses données locales (conversations et messages)</translation>
    </message>
    <message>
        <source>Remove account</source>
        <translation>Retirer le compte</translation>
    </message>
    <message>
        <source>Click again to remove</source>
        <translation>Cliquez à nouveau pour retirer</translation>
    </message>
    <message>
        <source>Select an account to remove</source>
        <translation>Sélectionnez un compte à retirer</translation>
    </message>
    <message>
        <source>Add account</source>
        <translation>Ajouter un compte</translation>
    </message>
    <message>
        <source>Account type</source>
        <translation>Type de compte</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>Tester la connexion</translation>
    </message>
    <message>
        <source>Save account</source>
        <translation>Enregistrer le compte</translation>
    </message>
    <message>
        <source>Connection test result</source>
        <translation>Résultat du test de connexion</translation>
    </message>
    <message>
        <source>Testing the connection…</source>
        <translation>Test de la connexion…</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>Connecté</translation>
    </message>
    <message>
        <source>Saved</source>
        <translation>Enregistré</translation>
    </message>
    <message>
        <source>cannot test now: the app's event loop is not running</source>
        <translation>test impossible : la boucle d'événements de l'application ne tourne pas</translation>
    </message>
    <message>
        <source>needs sign-in: wrong password or token</source>
        <translation>connexion requise : mot de passe ou jeton incorrect</translation>
    </message>
    <message>
        <source>cannot reach the server</source>
        <translation>serveur injoignable</translation>
    </message>
    <message>
        <source>the service asks to wait</source>
        <translation>le service demande d'attendre</translation>
    </message>
    <message>
        <source>refused by the service</source>
        <translation>refusé par le service</translation>
    </message>
    <message>
        <source>unexpected error in the connector</source>
        <translation>erreur inattendue dans le connecteur</translation>
    </message>
    <message>
        <source>unexpected error</source>
        <translation>erreur inattendue</translation>
    </message>
    <message>
        <source>Validate</source>
        <translation>Valider</translation>
    </message>
    <message>
        <source>Validation result</source>
        <translation>Résultat de la validation</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Appliquer</translation>
    </message>
    <message>
        <source>Valid</source>
        <translation>Valide</translation>
    </message>
    <message>
        <source>policies</source>
        <translation>politiques</translation>
    </message>
    <message>
        <source>Applied: deadlines are computed with these policies</source>
        <translation>Appliqué : les échéances sont calculées avec ces politiques</translation>
    </message>
    <message>
        <source>Web form (JSON endpoint)</source>
        <translation>Formulaire web (point d'accès JSON)</translation>
    </message>
    <message>
        <source>Facebook Page</source>
        <translation>Page Facebook</translation>
    </message>
    <message>
        <source>IMAP server</source>
        <translation>Serveur IMAP</translation>
    </message>
    <message>
        <source>IMAP port</source>
        <translation>Port IMAP</translation>
    </message>
    <message>
        <source>IMAP security</source>
        <translation>Sécurité IMAP</translation>
    </message>
    <message>
        <source>SMTP server</source>
        <translation>Serveur SMTP</translation>
    </message>
    <message>
        <source>SMTP port</source>
        <translation>Port SMTP</translation>
    </message>
    <message>
        <source>SMTP security</source>
        <translation>Sécurité SMTP</translation>
    </message>
    <message>
        <source>ssl, starttls or none</source>
        <translation>ssl, starttls ou none</translation>
    </message>
    <message>
        <source>starttls, ssl or none</source>
        <translation>starttls, ssl ou none</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Nom d'utilisateur</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Mot de passe</translation>
    </message>
    <message>
        <source>Sent folder</source>
        <translation>Dossier des messages envoyés</translation>
    </message>
    <message>
        <source>Days to fetch at first sync</source>
        <translation>Jours d'historique au premier import</translation>
    </message>
    <message>
        <source>the user name when left empty</source>
        <translation>le nom d'utilisateur si vide</translation>
    </message>
    <message>
        <source>Page ID</source>
        <translation>ID de la Page</translation>
    </message>
    <message>
        <source>Page name</source>
        <translation>Nom de la Page</translation>
    </message>
    <message>
        <source>Page access token</source>
        <translation>Jeton d'accès de la Page</translation>
    </message>
    <message>
        <source>Submissions URL</source>
        <translation>Adresse des soumissions</translation>
    </message>
    <message>
        <source>Returns our JSON shape</source>
        <translation>Renvoie notre format JSON</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>Clé d'API</translation>
    </message>
    <message>
        <source>X username</source>
        <translation>Nom d'utilisateur X</translation>
    </message>
    <message>
        <source>Remote images</source>
        <translation>Images distantes</translation>
    </message>
    <message>
        <source>Remote images are blocked to protect your privacy</source>
        <translation>Les images distantes sont bloquées pour protéger votre vie privée</translation>
    </message>
    <message>
        <source>Load remote images for this message</source>
        <translation>Charger les images distantes de ce message</translation>
    </message>
    <message>
        <source>Fetches this message's images from the sender's servers: the sender may learn that it was read.</source>
        <translation>Télécharge les images de ce message depuis les serveurs de l'expéditeur : il peut ainsi savoir qu'il a été lu.</translation>
    </message>
    <message>
        <source>cannot load now: the app's event loop is not running</source>
        <translation>chargement impossible : la boucle d'événements de l'application ne tourne pas</translation>
    </message>
    <message>
        <source>Loading 1 image…</source>
        <translation>Chargement d'une image…</translation>
    </message>
    <message>
        <source>Loading {n} images…</source>
        <translation>Chargement de {n} images…</translation>
    </message>
    <message>
        <source>Images could not be loaded</source>
        <translation>Les images n'ont pas pu être chargées</translation>
    </message>
    <message>
        <source>Remote images shown for this message</source>
        <translation>Images distantes affichées pour ce message</translation>
    </message>
    <message>
        <source>1 image loaded</source>
        <translation>1 image chargée</translation>
    </message>
    <message>
        <source>{n} images loaded</source>
        <translation>{n} images chargées</translation>
    </message>
    <message>
        <source>1 could not be loaded</source>
        <translation>1 n'a pas pu être chargée</translation>
    </message>
    <message>
        <source>{n} could not be loaded</source>
        <translation>{n} n'ont pas pu être chargées</translation>
    </message>
    <message>
        <source>Sign in with Facebook</source>
        <translation>Se connecter avec Facebook</translation>
    </message>
    <message>
        <source>Enter a code at facebook.com/device, then choose the Page; needs the App ID and client token</source>
        <translation>Saisissez un code sur facebook.com/device, puis choisissez la Page ; l'ID d'app et le jeton client sont nécessaires</translation>
    </message>
    <message>
        <source>Cancel sign-in</source>
        <translation>Annuler la connexion</translation>
    </message>
    <message>
        <source>Asking Facebook for a code…</source>
        <translation>Demande d'un code à Facebook…</translation>
    </message>
    <message>
        <source>1. On a phone or computer, open</source>
        <translation>1. Sur un téléphone ou un ordinateur, ouvrez</translation>
    </message>
    <message>
        <source>2. Enter this code there:</source>
        <translation>2. Saisissez-y ce code :</translation>
    </message>
    <message>
        <source>3. Allow access to your Pages there; they are listed here by themselves.</source>
        <translation>3. Autorisez-y l'accès à vos Pages ; elles s'afficheront ici d'elles-mêmes.</translation>
    </message>
    <message>
        <source>Code to enter on Facebook</source>
        <translation>Code à saisir sur Facebook</translation>
    </message>
    <message>
        <source>Copy code</source>
        <translation>Copier le code</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Copié</translation>
    </message>
    <message>
        <source>Sign-in status</source>
        <translation>État de la connexion</translation>
    </message>
    <message>
        <source>Waiting for you to approve on Facebook</source>
        <translation>En attente de votre approbation sur Facebook</translation>
    </message>
    <message>
        <source>time left</source>
        <translation>temps restant</translation>
    </message>
    <message>
        <source>Signed in. Choose the Page to add as an account:</source>
        <translation>Connecté. Choisissez la Page à ajouter comme compte :</translation>
    </message>
    <message>
        <source>Pages you manage</source>
        <translation>Pages que vous gérez</translation>
    </message>
    <message>
        <source>Add this Page</source>
        <translation>Ajouter cette Page</translation>
    </message>
    <message>
        <source>the code expired before it was approved: start again</source>
        <translation>le code a expiré avant d'être approuvé : recommencez</translation>
    </message>
    <message>
        <source>sign-in not completed</source>
        <translation>connexion non terminée</translation>
    </message>
    <message>
        <source>sign-in with Facebook: fill in the App ID and the App client token first</source>
        <translation>connexion avec Facebook : renseignez d'abord l'ID d'app et le jeton client de l'app</translation>
    </message>
    <message>
        <source>the Facebook account that approved manages no Page: sign in as a Page admin</source>
        <translation>le compte Facebook qui a approuvé ne gère aucune Page : connectez-vous en tant qu'administrateur d'une Page</translation>
    </message>
    <message>
        <source>App ID (for sign-in with Facebook)</source>
        <translation>ID d'app (pour la connexion avec Facebook)</translation>
    </message>
    <message>
        <source>App client token</source>
        <translation>Jeton client de l'app</translation>
    </message>
    <message>
        <source>Graph API version</source>
        <translation>Version de l'API Graph</translation>
    </message>
    <message>
        <source>Days of history on first sync</source>
        <translation>Jours d'historique au premier import</translation>
    </message>
    <message>
        <source>Paste a Page token, or sign in with Facebook to fetch one</source>
        <translation>Collez un jeton de Page, ou connectez-vous avec Facebook pour en obtenir un</translation>
    </message>
    <message>
        <source>The numeric id of the Page</source>
        <translation>L'identifiant numérique de la Page</translation>
    </message>
    <message>
        <source>0 reads everything the Graph API still has</source>
        <translation>0 lit tout ce que l'API Graph conserve encore</translation>
    </message>
    <message>
        <source>followers</source>
        <translation>abonnés</translation>
    </message>
    <message>
        <source>same name</source>
        <translation>même nom</translation>
    </message>
    <message>
        <source>wrote</source>
        <translation>a écrit</translation>
    </message>
    <message>
        <source>Updating…</source>
        <translation>Mise à jour…</translation>
    </message>
    <message>
        <source>Dashboard status</source>
        <translation>État du tableau de bord</translation>
    </message>
    <message>
        <source>The figures could not be read</source>
        <translation>Les chiffres n'ont pas pu être lus</translation>
    </message>
    <message>
        <source>Sign-in method</source>
        <translation>Méthode de connexion</translation>
    </message>
    <message>
        <source>password or oauth2 (XOAUTH2 token)</source>
        <translation>password ou oauth2 (jeton XOAUTH2)</translation>
    </message>
    <message>
        <source>needed with sign-in method password</source>
        <translation>requis avec la méthode de connexion password</translation>
    </message>
    <message>
        <source>OAuth access token</source>
        <translation>Jeton d'accès OAuth</translation>
    </message>
    <message>
        <source>needed with sign-in method oauth2</source>
        <translation>requis avec la méthode de connexion oauth2</translation>
    </message>
    <message>
        <source>OAuth refresh token</source>
        <translation>Jeton de rafraîchissement OAuth</translation>
    </message>
    <message>
        <source>OAuth token URL</source>
        <translation>URL des jetons OAuth</translation>
    </message>
    <message>
        <source>to refresh the token, e.g. https://oauth2.googleapis.com/token</source>
        <translation>pour rafraîchir le jeton, p. ex. https://oauth2.googleapis.com/token</translation>
    </message>
    <message>
        <source>OAuth client id</source>
        <translation>Identifiant client OAuth</translation>
    </message>
    <message>
        <source>OAuth client secret</source>
        <translation>Secret client OAuth</translation>
    </message>
    <message>
        <source>waiting: an earlier reply may have been sent, decide it first</source>
        <translation>en attente : une réponse précédente a peut-être été envoyée, décidez-en d’abord</translation>
    </message>
    <message>
        <source>waiting: an earlier reply failed, send it again or drop it</source>
        <translation>en attente : une réponse précédente a échoué, renvoyez-la ou abandonnez-la</translation>
    </message>
    <message>
        <source>waiting: an earlier reply is being sent or checked</source>
        <translation>en attente : une réponse précédente est en cours d’envoi ou de vérification</translation>
    </message>
    <message>
        <source>waiting: an earlier reply goes first</source>
        <translation>en attente : une réponse précédente part d’abord</translation>
    </message>
    <message>
        <source>Mark as sent</source>
        <translation>Marquer comme envoyée</translation>
    </message>
    <message>
        <source>Send again</source>
        <translation>Renvoyer</translation>
    </message>
    <message>
        <source>Drop</source>
        <translation>Abandonner</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>rejetés</translation>
    </message>
    <message>
        <source>last</source>
        <translation>dernier</translation>
    </message>
    <message>
        <source>Agent name</source>
        <translation>Nom d'agent</translation>
    </message>
    <message>
        <source>Agents</source>
        <translation>Agents</translation>
    </message>
    <message>
        <source>Ask them or your team lead before taking it over.</source>
        <translation>Demandez-lui, ou à votre responsable d'équipe, avant de la reprendre.</translation>
    </message>
    <message>
        <source>At risk</source>
        <translation>En danger</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>Abandonner</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Fermer</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>Modifier</translation>
    </message>
    <message>
        <source>Messages arrived since you looked: read them, then send anyway, edit or discard your reply.</source>
        <translation>Des messages sont arrivés depuis votre lecture : lisez-les, puis envoyez quand même, modifiez ou abandonnez votre réponse.</translation>
    </message>
    <message>
        <source>Not in a team: Inbox works on this computer only.</source>
        <translation>Hors équipe : Inbox travaille sur cet ordinateur seulement.</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>Non connecté</translation>
    </message>
    <message>
        <source>Now assigned to</source>
        <translation>Désormais assignée à</translation>
    </message>
    <message>
        <source>Offline: you can read and change everything; changes wait and go out when the server is back</source>
        <translation>Hors ligne : vous pouvez tout lire et tout modifier ; les changements attendent et partent au retour du serveur</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>En ligne</translation>
    </message>
    <message>
        <source>Reassign</source>
        <translation>Réassigner</translation>
    </message>
    <message>
        <source>Reassign the selected conversation to</source>
        <translation>Réassigner la conversation choisie à</translation>
    </message>
    <message>
        <source>Select a conversation first</source>
        <translation>Choisissez d'abord une conversation</translation>
    </message>
    <message>
        <source>Send anyway</source>
        <translation>Envoyer quand même</translation>
    </message>
    <message>
        <source>Server URL</source>
        <translation>Adresse du serveur</translation>
    </message>
    <message>
        <source>Server URL, agent name and password are all needed</source>
        <translation>L'adresse du serveur, le nom d'agent et le mot de passe sont tous nécessaires</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>Se connecter</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>Se déconnecter</translation>
    </message>
    <message>
        <source>Signed out of your team: sign in again in Settings (your drafts and waiting changes are kept)</source>
        <translation>Déconnecté de votre équipe : reconnectez-vous dans les Réglages (vos brouillons et changements en attente sont conservés)</translation>
    </message>
    <message>
        <source>Signed out; drafts kept</source>
        <translation>Déconnecté ; brouillons conservés</translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation>Connexion…</translation>
    </message>
    <message>
        <source>Signing out…</source>
        <translation>Déconnexion…</translation>
    </message>
    <message>
        <source>Team</source>
        <translation>Équipe</translation>
    </message>
    <message>
        <source>Team figures not updated</source>
        <translation>Chiffres de l'équipe non mis à jour</translation>
    </message>
    <message>
        <source>Team mode: one queue shared with your team through a team server. Your password is sent to the server only; the session is kept in the system keyring.</source>
        <translation>Mode équipe : une file partagée avec votre équipe par un serveur d'équipe. Votre mot de passe n'est envoyé qu'au serveur ; la session est gardée dans le trousseau du système.</translation>
    </message>
    <message>
        <source>The server did not accept this change: correct it and try again.</source>
        <translation>Le serveur n'a pas accepté ce changement : corrigez-le et réessayez.</translation>
    </message>
    <message>
        <source>This conversation is gone (merged or removed): nothing else to do.</source>
        <translation>Cette conversation n'existe plus (fusionnée ou supprimée) : rien d'autre à faire.</translation>
    </message>
    <message>
        <source>What arrived since</source>
        <translation>Arrivé depuis</translation>
    </message>
    <message>
        <source>Who else is here</source>
        <translation>Qui est là aussi</translation>
    </message>
    <message>
        <source>You are not a member of this channel account: ask your team lead for access.</source>
        <translation>Vous n'êtes pas membre de ce compte : demandez l'accès à votre responsable d'équipe.</translation>
    </message>
    <message>
        <source>Your reply</source>
        <translation>Votre réponse</translation>
    </message>
    <message>
        <source>cannot sign in now: the app's event loop is not running</source>
        <translation>connexion impossible pour l'instant : la boucle d'événements de l'application ne tourne pas</translation>
    </message>
    <message>
        <source>changes waiting</source>
        <translation>changements en attente</translation>
    </message>
    <message>
        <source>is replying</source>
        <translation>répond</translation>
    </message>
    <message>
        <source>is viewing</source>
        <translation>consulte</translation>
    </message>
    <message>
        <source>more refused changes</source>
        <translation>autres changements refusés</translation>
    </message>
    <message>
        <source>nobody</source>
        <translation>personne</translation>
    </message>
    <message>
        <source>note</source>
        <translation>note</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>refusé</translation>
    </message>
    <message>
        <source>signed in</source>
        <translation>connecté</translation>
    </message>
    <message>
        <source>signed out</source>
        <translation>déconnecté</translation>
    </message>
    <message>
        <source>Assignment</source>
        <translation>Assignation</translation>
    </message>
    <message>
        <source>Link</source>
        <translation>Lien</translation>
    </message>
    <message>
        <source>Merge</source>
        <translation>Fusion</translation>
    </message>
    <message>
        <source>online</source>
        <translation>en ligne</translation>
    </message>
    <message>
        <source>connecting</source>
        <translation>connexion</translation>
    </message>
    <message>
        <source>Your note</source>
        <translation>Votre note</translation>
    </message>
    <message>
        <source>Status change</source>
        <translation>Changement de statut</translation>
    </message>
    <message>
        <source>Tag change</source>
        <translation>Changement d'étiquette</translation>
    </message>
    <message>
        <source>Priority change</source>
        <translation>Changement de priorité</translation>
    </message>
    <message>
        <source>the server said no</source>
        <translation>le serveur a refusé</translation>
    </message>
</context>
</TS>
