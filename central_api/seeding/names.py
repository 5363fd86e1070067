"""Built-in word lists for synthetic people and places.

Names are common given and family names combined at random; no combination is
meant to describe anyone. Phone numbers use the 555-0100..0199 block that the
North American Numbering Plan reserves for fiction.
"""

from __future__ import annotations

GIVEN_NAMES = (
    "Avery", "Blake", "Cameron", "Dana", "Elliot", "Finley", "Gray", "Harper", "Indigo",
    "Jordan", "Kendall", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese",
    "Sage", "Taylor", "Umi", "Val", "Wren", "Xen", "Yael", "Zion", "Alma", "Bruno", "Celia",
    "Dario", "Esme", "Felix", "Greta", "Hugo", "Ines", "Jonah", "Kira", "Lucia", "Mateo",
    "Nadia", "Otto", "Paloma", "Rafael", "Selma", "Tomas", "Ursula", "Vera", "Wade", "Ximena",
    "Yusuf", "Zara", "Anh", "Bao", "Chen", "Dalia", "Emre", "Farah", "Goran", "Hana", "Ivo",
)  # fmt: skip

FAMILY_NAMES = (
    "Abbott", "Baker", "Castillo", "Dorsey", "Ellison", "Fairbanks", "Galloway", "Hollis",
    "Iverson", "Jaramillo", "Kowalski", "Lindqvist", "Marchetti", "Nakamura", "Okafor",
    "Pemberton", "Quintero", "Rasmussen", "Sorensen", "Thibodeaux", "Underhill", "Vasquez",
    "Whitaker", "Xiong", "Yamamoto", "Zielinski", "Ashby", "Brennan", "Calloway", "Delacroix",
    "Estrada", "Fontaine", "Gutierrez", "Halvorsen", "Ibarra", "Jovanovic", "Kessler",
    "Lockhart", "Moreau", "Novak", "Osei", "Pacheco", "Rinaldi", "Santoro", "Trujillo",
    "Valdez", "Wexler", "Yilmaz", "Zamora", "Nguyen", "Tran", "Haddad", "Mensah", "Petrov",
)  # fmt: skip

# (language, share in thousandths, chance an interpreter is needed in percent)
LANGUAGES = (
    ("English", 800, 0),
    ("Spanish", 120, 65),
    ("Vietnamese", 25, 70),
    ("Mandarin", 20, 70),
    ("Arabic", 15, 75),
    ("Haitian Creole", 10, 80),
    ("Russian", 10, 60),
)

PATIENT_EXTRA_ZONES = (
    "America/Chicago",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/Anchorage",
    "Pacific/Honolulu",
)

PROVIDERS = (
    "Dr. Rowan Ellery",
    "Dr. Imani Castellano",
    "Dr. Theo Marchand",
    "Dr. Priya Lindahl",
    "Dr. Soren Aguilar",
    "NP Mireille Okonjo",
    "PA Casey Brandt",
)

VISIT_TYPES = (
    "Annual physical",
    "Follow-up visit",
    "New patient visit",
    "Medication review",
    "Lab review",
    "Telehealth check-in",
)

SPECIALTIES = (
    ("Cardiology", "Lakeside Heart Group"),
    ("Dermatology", "Clearview Dermatology"),
    ("Orthopedics", "Summit Bone and Joint"),
    ("Gastroenterology", "Riverbend GI Associates"),
    ("Endocrinology", "Northgate Endocrine Clinic"),
    ("Physical therapy", "Motion Works PT"),
    ("Ophthalmology", "Brightline Eye Care"),
)


def fictional_phone(n: int) -> str:
    """The n-th fictional number, E.164: area codes from 201 up, lines 555-0100..0198.

    Line 0199 is never handed out here; practices use it, so a practice's own
    number never matches a patient.
    """
    area = 201 + (n // 99) % 798
    line = 100 + n % 99
    return f"+1{area}5550{line}"


def practice_phone(area: int) -> str:
    return f"+1{area}5550199"
