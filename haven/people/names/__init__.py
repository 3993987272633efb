"""Name matching across scripts and romanisations: keys, equivalents and scores.

A name reaches Haven as "Зелимхан Яндарбиев" from a call, "Selimchan Jandarbijew" from a
German partner, "ZELIMKHAN IANDARBIEV" from a passport and "zelimhan yandarbiev" from a
message. ``keys.name_keys`` turns each word into keys that meet across those spellings:
a careful ICAO-style Latin form (equal only for the same letters), one or two coarse
skeletons (equal across romanisation choices) and, for given names in the table of
equivalents, the name's group (Магомед / Muhammad / Mohammed). ``score.compare`` ranks a
decrypted candidate against a query with rapidfuzz and says why.

Nothing here touches the database or keys; the blind tokens built from these keys live in
``haven.people.tokens``. ``RULES_VERSION`` changes whenever a rule changes the keys: stored
tokens must then be rebuilt (``haven people reindex``).
"""

from haven.people.names.keys import RULES_VERSION, NameKeys, TokenKeys, name_keys, token_keys
from haven.people.names.normalise import mixed_script_tokens, normalise_tokens
from haven.people.names.score import Level, Match, MatchLabel, compare

__all__ = ["RULES_VERSION", "Level", "Match", "MatchLabel", "NameKeys", "TokenKeys", "compare",
           "mixed_script_tokens", "name_keys", "normalise_tokens", "token_keys"]
