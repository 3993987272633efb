"""Reading a nationality typed by a person ("Russian", "Россия", "RU, UA") as ISO codes.

A person's nationality is free text in their profile (sealed under their key); pathways list
eligible nationalities as ISO 3166 alpha-2 codes. This maps the text, word by word, to codes
for the countries Haven's cases come from and go through; a value it cannot read stays
unknown (and the ranking says so) rather than being guessed.
"""

from __future__ import annotations

import re

# Names and adjectives, English and Russian, case-folded; "ё" is read as "е".
_NAMES: dict[str, tuple[str, ...]] = {
    "RU": ("russia", "russian", "russian federation", "россия", "российская федерация",
           "рф", "русский", "русская", "россиянин", "россиянка", "российское", "chechen",
           "chechnya", "чечня", "чеченец", "чеченка", "ichkeria", "ичкерия", "dagestani",
           "dagestan", "дагестан", "ingush", "ingushetia", "ингушетия"),
    "UA": ("ukraine", "ukrainian", "украина", "украинец", "украинка", "украинское"),
    "BY": ("belarus", "belarusian", "belarussian", "беларусь", "белоруссия", "белорус",
           "белоруска", "белорусское"),
    "KZ": ("kazakhstan", "kazakh", "kazakhstani", "казахстан", "казах", "казашка"),
    "UZ": ("uzbekistan", "uzbek", "узбекистан", "узбек", "узбечка"),
    "TJ": ("tajikistan", "tajik", "таджикистан", "таджик", "таджичка"),
    "KG": ("kyrgyzstan", "kyrgyz", "киргизия", "кыргызстан", "киргиз", "киргизка", "кыргыз"),
    "TM": ("turkmenistan", "turkmen", "туркменистан", "туркмен", "туркменка"),
    "AZ": ("azerbaijan", "azerbaijani", "азербайджан", "азербайджанец", "азербайджанка"),
    "AM": ("armenia", "armenian", "армения", "армянин", "армянка"),
    "GE": ("georgia", "georgian", "грузия", "грузин", "грузинка"),
    "MD": ("moldova", "moldovan", "молдова", "молдавия", "молдаванин", "молдаванка"),
    "TR": ("turkey", "türkiye", "turkish", "турция", "турок", "турчанка"),
    "IR": ("iran", "iranian", "иран", "иранец", "иранка"),
    "AF": ("afghanistan", "afghan", "афганистан", "афганец", "афганка"),
    "SY": ("syria", "syrian", "сирия", "сириец", "сирийка"),
}
_CODES = set(_NAMES)
_LOOKUP: dict[str, str] = {name: code for code, names in _NAMES.items() for name in names}
_SPLIT = re.compile(r"\s*(?:[,;/+&]|\band\b|\bи\b)\s*")


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def nationality_codes(text: str) -> set[str]:
    """The ISO codes named by ``text`` (empty when none is recognised).

    Two capital letters are read as a code as written ("RU"); otherwise each part
    ("Russian and Ukrainian", "Россия / Украина") is matched whole, then word by word, against
    the names above.
    """
    found: set[str] = set()
    for part in _SPLIT.split(text.strip()):
        if not part:
            continue
        if re.fullmatch(r"[A-Z]{2}", part.strip()):
            found.add(part.strip())
            continue
        folded = _fold(part)
        if folded.upper() in _CODES and len(folded) == 2:
            found.add(folded.upper())
            continue
        if folded in _LOOKUP:
            found.add(_LOOKUP[folded])
            continue
        for word in re.findall(r"[^\W\d_]+", folded):
            if word in _LOOKUP:
                found.add(_LOOKUP[word])
    return found
