"""The password policy (AUTH-04, after the ANSSI guidance and OWASP ASVS V2).

A length of at least 12 characters (code points), up to 1,024; no composition rule (no "one digit,
one capital"), no hint, no rotation. Refused: what zxcvbn rates as guessable (score < 3) once told
the words of the context (the identifiant, the name of the service, a few very common French
passwords), and any password that contains the identifiant or a part of it.
"""

from __future__ import annotations

import re
import threading

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline slow-hash scenario"
ZXCVBN_LIMIT = 100  # zxcvbn's cost grows fast with the length: it rates the first 100 characters
MIN_PART = 4  # parts of the identifiant shorter than this are not looked for in the password

# Words of the service, and French passwords zxcvbn's (English) lists rate too kindly.
CONTEXT_WORDS = (
    "espace",
    "esat",
    "caf",
    "mon compte partenaire",
    "moncomptepartenaire",
    "partenaire",
    "motdepasse",
    "mot de passe",
    "azerty",
    "azertyuiop",
    "bonjour",
    "soleil",
    "jetaime",
    "doudou",
    "loulou",
    "chouchou",
    "marseille",
    "paris",
    "france",
    "travail",
    "allocations",
)

TOO_SHORT = (
    "Le mot de passe doit compter au moins {min} caractères (il en compte {n}). Choisissez une "
    "phrase de passe plus longue, par exemple plusieurs mots séparés par des espaces."
)
TOO_LONG = "Le mot de passe ne doit pas dépasser {max} caractères. Choisissez-en un plus court."
HAS_IDENTIFIANT = (
    "Le mot de passe ne doit pas contenir votre identifiant ni une partie de celui-ci. Choisissez "
    "une phrase de passe sans rapport avec votre adresse e-mail."
)
TOO_GUESSABLE = (
    "Ce mot de passe est trop facile à deviner (mot de passe courant, mot du dictionnaire, suite de "
    "clavier, répétition ou date). Choisissez une phrase de passe plus longue, faite de plusieurs "
    "mots sans lien entre eux."
)

_SEPARATORS = re.compile(r"[\W_]+")
# zxcvbn keeps the user inputs of the current call in a module-level dictionary: two threads
# rating passwords at once (two sessions of one Streamlit server) must not mix theirs.
_ZXCVBN_LOCK = threading.Lock()


def _identifiant_parts(identifiant: str) -> tuple[list[str], list[str]]:
    """(parts a password may not contain, words zxcvbn is told about) for an identifiant."""
    ident = identifiant.strip().lower()
    local, _, domain = ident.partition("@")
    pieces = [p for p in _SEPARATORS.split(local) if p]
    forbidden = [p for p in dict.fromkeys([ident, local, *pieces]) if len(p) >= MIN_PART]
    domain_words = [w for w in _SEPARATORS.split(domain) if w]
    inputs = [w for w in dict.fromkeys([ident, local, *pieces, domain, *domain_words]) if w]
    return forbidden, inputs


def score(password: str, identifiant: str = "") -> int:
    """zxcvbn's score (0–4) of the first 100 characters, with the words of the context."""
    _, inputs = _identifiant_parts(identifiant)
    with _ZXCVBN_LOCK:
        result = zxcvbn(
            password[:ZXCVBN_LIMIT], user_inputs=[*inputs, *CONTEXT_WORDS], max_length=ZXCVBN_LIMIT
        )
    return int(result["score"])


def problems(password: str, identifiant: str) -> list[str]:
    """What is wrong with ``password`` for the account ``identifiant``, in French ([]: accepted).

    Each message says what to do instead. A password too short or too long gets that message
    alone (the others would only add noise until the length is right)."""
    if not isinstance(password, str):
        return [TOO_SHORT.format(min=MIN_LENGTH, n=0)]
    if len(password) < MIN_LENGTH:
        return [TOO_SHORT.format(min=MIN_LENGTH, n=len(password))]
    if len(password) > MAX_LENGTH:
        return [TOO_LONG.format(max=MAX_LENGTH)]
    found: list[str] = []
    forbidden, _ = _identifiant_parts(identifiant or "")
    lowered = password.lower()
    if any(part in lowered for part in forbidden):
        found.append(HAS_IDENTIFIANT)
    if score(password, identifiant or "") < MIN_SCORE:
        found.append(TOO_GUESSABLE)
    return found
