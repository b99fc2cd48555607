"""The words of the generated workspace: people, products and what customers and agents write.

Plain data and two tiny builders, so the generator stays about structure and formats.
"""

from __future__ import annotations

import random

FIRST = (
    "Léa Camille Hugo Louis Emma Jade Lucas Chloé Nathan Inès Paul Manon Jules Sarah Arthur "
    "Alice Tom Zoé Noah Lina Oliver Amelia George Isla Harry Ava Jack Mia Leo Ivy Sofia Mateo "
    "Aisha Omar Yuki Kenji Priya Arjun Elena Marco Anna Lukas Sven Ingrid Pablo Lucía Chen Wei"
).split()
LAST = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre "
    "Michel Garcia David Bertrand Roux Vincent Fournier Smith Jones Taylor Brown Williams Wilson "
    "Johnson Davies Patel Wright Müller Schmidt Rossi Russo Novak Kowalski Tanaka Sato Kim Nguyen"
).split()
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "exemple.fr")
PRODUCTS = (
    "Aurora kettle",
    "Borealis toaster",
    "Cirrus blender",
    "Delta headphones",
    "Ember heater",
    "Fjord backpack",
    "Glacier water bottle",
    "Halo desk lamp",
    "Iris smart plug",
    "Juniper coffee grinder",
    "Kestrel bike light",
    "Lumen e-reader",
    "Meridian watch",
    "Nimbus umbrella",
    "Orbit speaker",
    "Prism phone case",
)
CITIES = ("Lyon", "Paris", "Leeds", "Berlin", "Madrid", "Milano", "Porto", "Gent", "Bordeaux")
SUBJECTS = (
    "Order {order} not delivered",
    "Refund for order {order}",
    "Question about my {product}",
    "Broken {product} (order {order})",
    "Invoice request, order {order}",
    "Cannot log in to my account",
    "Change of delivery address for {order}",
    "Commande {order} : colis non reçu",
    "Remboursement commande {order}",
    "Warranty claim: {product}",
)
CUSTOMER = (
    "My order {order} was supposed to arrive {days} days ago and the tracking has not moved.",
    "The {product} I received stopped working after {days} days.",
    "Could you send me an invoice for order {order}? I need it for my company.",
    "I would like a refund for the {product}, it does not match the description.",
    "The parcel was left at the wrong address in {city}.",
    "I reset my password twice but I still cannot log in.",
    "Is the {product} compatible with the charger of the previous model?",
    "The delivery driver said the parcel was damaged and took it back to the depot.",
    "Bonjour, mon colis n'est toujours pas arrivé à {city}, pouvez-vous vérifier ?",
    "Je souhaite être remboursé pour la commande {order}, l'article est cassé.",
    "I was charged twice for order {order}, please check my bank statement.",
    "The screen of my {product} flickers when the battery is below twenty percent.",
    "Can I change the delivery address of order {order} to {city}?",
    "Thanks, that solved it. One more question about the warranty of the {product}.",
    "Still nothing after {days} days. This is getting really frustrating.",
    "Where can I find the user manual of the {product}?",
)
AGENT = (
    "Thank you for contacting Acme support. I have checked order {order} with the carrier.",
    "I am sorry about the trouble with your {product}; a replacement is on its way.",
    "The refund of order {order} has been issued and should appear within {days} business days.",
    "Please find the invoice for order {order} attached to this message.",
    "I have reset your account; you will receive a link to choose a new password.",
    "Could you send us a photo of the {product} and of its serial number?",
    "Bonjour, nous avons relancé le transporteur pour votre colis à {city}.",
    "The delivery address has been changed to {city}; the parcel ships tomorrow.",
    "Your warranty covers the {product} for two years from the date of purchase.",
    "I am closing this request; reply to this message if anything else comes up.",
)
GREETINGS = ("Hello,", "Hi there,", "Good morning,", "Bonjour,", "Hi,", "Dear Acme team,")


def fill(template: str, rng: random.Random, order: str) -> str:
    """A template with an order number, a product, a city and a number of days filled in."""
    return template.format(
        order=order,
        product=rng.choice(PRODUCTS),
        city=rng.choice(CITIES),
        days=rng.randrange(2, 15),
    )


def customer_text(rng: random.Random, order: str) -> str:
    count = rng.randrange(1, 4)
    body = " ".join(fill(rng.choice(CUSTOMER), rng, order) for _ in range(count))
    return f"{rng.choice(GREETINGS)}\n\n{body}\n"


def agent_text(rng: random.Random, order: str, name: str) -> str:
    count = rng.randrange(1, 3)
    body = " ".join(fill(rng.choice(AGENT), rng, order) for _ in range(count))
    return f"Hello {name.split()[0]},\n\n{body}\n\nBest regards,\nCamille, Acme support\n"


#: The fixed search query set: frequent words, rare words, phrases, prefixes, French, a name.
QUERIES = (
    "refund",
    "invoice order",
    '"tracking has not moved"',
    "kettle",
    "Borealis toaster",
    "password",
    "colis",
    "remboursé",
    "charged twice",
    "warranty",
    "flick",
    "Gent",
    "Tanaka",
    "manual",
    "damaged depot",
    "xylophone",
)
