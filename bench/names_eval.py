"""The generated evaluation set for name search (no real people).

    .venv/bin/python bench/names_eval.py [--identities 600] [--seed 17] > names.json

Identities are drawn with Zipf-like frequencies from pools of Chechen, Daghestani and
Russian given names and surnames, so many people share common names ("Магомед Магомедов").
Each has a Cyrillic legal name (given, patronymic, surname), a date of birth and a phone.
Queries render one identity's name in a way it reaches Haven, one kind of variant each:

- ``cyrillic``: as stored; ``icao``, ``english``, ``german``, ``french``, ``polish``:
  romanised by that system (implemented here, independently of haven.people.names);
  ``casual``: lower case, х→h, y/i chosen at random, as in a message;
- ``typo``: one wrong, missing or extra letter in one word of an English romanisation;
- ``swapped``: surname first; ``no_patronymic``: given name and surname only (the others
  include the patronymic half the time);
- ``equivalent``: the given name replaced by another form of it (Магомед → Mohammed,
  Александр → Sasha);
- ``negative``: hard negatives — a real given name with a real surname that nobody has,
  an existing person's name with another patronymic, or a surname two letters away: the
  right answer is nobody.

For duplicate detection, second records of some identities: another rendering of the name,
the date of birth full, year only, year and month, day and month swapped or a year off, the
phone often missing, the place in another script or missing.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

MALE = ["Магомед", "Ахмед", "Рамзан", "Зелимхан", "Руслан", "Ислам", "Адам", "Хасан",
        "Хусейн", "Шамиль", "Ибрагим", "Муса", "Иса", "Умар", "Аслан", "Юсуп", "Исмаил",
        "Сулейман", "Джохар", "Дукуваха", "Лечи", "Асламбек", "Алихан", "Беслан", "Тимур",
        "Мурад", "Арсен", "Абдулла", "Саид", "Анзор", "Ильяс", "Артур", "Александр",
        "Дмитрий", "Сергей", "Алексей", "Иван", "Михаил", "Евгений", "Юрий", "Николай",
        "Владимир", "Андрей", "Павел", "Рустам", "Заур", "Идрис", "Якуб", "Махмуд"]
FEMALE = ["Фатима", "Аминат", "Хадижат", "Зарема", "Мадина", "Малика", "Лейла", "Марьям",
          "Хава", "Седа", "Зайнаб", "Петимат", "Луиза", "Елена", "Ольга", "Анна", "Мария",
          "Наталья", "Татьяна", "Екатерина", "Анастасия", "Светлана", "Милана", "Камила"]
SURNAMES = ["Магомедов", "Яндарбиев", "Кадыров", "Масхадов", "Басаев", "Ахмадов", "Алиев",
            "Гаджиев", "Абдуллаев", "Исаев", "Хасанов", "Умаров", "Муртазалиев", "Дудаев",
            "Закаев", "Вагапов", "Эльмурзаев", "Бисултанов", "Цацаев", "Хамзатов", "Арсанов",
            "Шамилев", "Джабраилов", "Садулаев", "Межидов", "Тагиров", "Рамазанов",
            "Ибрагимов", "Юсупов", "Исмаилов", "Сулейманов", "Мусаев", "Хусейнов", "Батаев",
            "Дакаев", "Чапаев", "Висаитов", "Хизриев", "Иванов", "Петров", "Смирнов",
            "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов",
            "Волков", "Зайцев", "Павлов", "Семенов", "Голубев", "Виноградов", "Богданов",
            "Воробьев", "Федоров", "Михайлов", "Беляев", "Тарасов", "Белов", "Комаров",
            "Орлов", "Киселев", "Макаров", "Андреев", "Ковалев", "Ильин", "Гусев", "Титов",
            "Кузьмин", "Кудрявцев", "Баранов", "Куликов", "Алексеев", "Степанов", "Яковлев",
            "Сорокин", "Сергеев", "Романов", "Захаров", "Борисов", "Королев", "Герасимов",
            "Пономарев", "Григорьев", "Лазарев", "Медведев", "Ершов", "Никитин", "Соболев",
            "Рябов", "Поляков", "Цветков", "Данилов", "Жуков", "Фролов", "Журавлев",
            "Николаев", "Крылов", "Максимов", "Сидоров", "Осипов", "Белоусов", "Федотов",
            "Дорофеев", "Егоров", "Матвеев", "Бобров", "Дмитриев", "Калинин", "Анисимов",
            "Петухов", "Антонов", "Тимофеев", "Никифоров", "Веселов", "Филиппов", "Марков",
            "Большаков", "Суханов", "Миронов", "Ширяев", "Александров", "Коновалов",
            "Шестаков", "Казаков", "Ефимов", "Денисов", "Громов", "Фомин", "Давыдов",
            "Мельников", "Щербаков", "Блинов", "Колесников", "Карпов", "Афанасьев", "Власов",
            "Маслов", "Исаков", "Тихонов", "Аксенов", "Гаврилов", "Родионов", "Котов",
            "Горбунов", "Кудряшов", "Быков", "Зуев", "Третьяков", "Савельев", "Панов",
            "Рыбаков", "Суворов", "Абрамов", "Воронов", "Мухин", "Архипов", "Трофимов",
            "Мартынов", "Емельянов", "Горшков", "Чернов", "Овчинников", "Селезнев", "Панфилов",
            "Копылов", "Михеев", "Галкин", "Назаров", "Лобанов", "Лукин", "Беляков",
            "Потапов", "Некрасов", "Хохлов", "Жданов", "Наумов", "Шилов", "Воронцов",
            "Ермаков", "Дроздов", "Игнатьев", "Савин", "Логинов", "Сафонов", "Капустин",
            "Кириллов", "Моисеев", "Елисеев", "Кошелев", "Костин", "Горбачев", "Орехов",
            "Ефремов", "Исаев", "Евдокимов", "Калашников", "Кабанов", "Носков", "Юдин",
            "Кулагин", "Лапин", "Прохоров", "Нестеров", "Харитонов", "Агафонов", "Муравьев",
            "Ларионов", "Федосеев", "Зимин", "Пахомов", "Шубин", "Игнатов", "Филатов",
            "Крюков", "Рогов", "Кулаков", "Терентьев", "Молчанов", "Владимиров", "Артемьев",
            "Гурьев", "Зиновьев", "Гришин", "Кононов", "Дементьев", "Ситников", "Симонов",
            "Мишин", "Фадеев", "Комиссаров", "Мамонтов", "Носов", "Гуляев", "Шаров",
            "Устинов", "Вишняков", "Евсеев", "Лаврентьев", "Брагин", "Константинов",
            "Корнилов", "Авдеев", "Зыков", "Бирюков", "Шарапов", "Никонов", "Щукин",
            "Дьячков", "Одинцов", "Сазонов", "Якушев", "Красильников", "Гордеев", "Самойлов",
            "Князев", "Беспалов", "Уваров", "Шашков", "Бобылев", "Доронин", "Белозеров",
            "Рожков", "Самсонов", "Мясников", "Лихачев", "Буров", "Сысоев", "Фомичев",
            "Русаков", "Стрелков", "Гущин", "Тетерин", "Колобов", "Субботин", "Фокин",
            "Блохин", "Селиверстов", "Пестов", "Кондратьев", "Силин", "Меркушев", "Лыткин",
            "Туров"]
# Other forms of given names (the ``equivalent`` variant); not the matcher's table.
EQUIVALENT = {"Магомед": ["Mohammed", "Muhammad", "Magomet", "Мухаммад", "Mohamed"],
              "Ахмед": ["Ahmad", "Ахмад"], "Хусейн": ["Hussein", "Husayn"],
              "Юсуп": ["Yusuf", "Юсуф"], "Ибрагим": ["Ibrahim"], "Умар": ["Omar"],
              "Сулейман": ["Suleiman"], "Муса": ["Moussa"], "Махмуд": ["Mahmoud"],
              "Фатима": ["Патимат", "Fatma"], "Хадижат": ["Khadija", "Хадижа"],
              "Аминат": ["Amina"], "Зайнаб": ["Zeinab"], "Александр": ["Саша", "Sasha"],
              "Дмитрий": ["Дима", "Dima"], "Сергей": ["Серёжа"], "Алексей": ["Лёша"],
              "Иван": ["Ваня"], "Михаил": ["Миша", "Misha"], "Евгений": ["Женя", "Zhenya"],
              "Юрий": ["Юра"], "Николай": ["Коля"], "Владимир": ["Володя", "Вова"],
              "Павел": ["Паша"], "Андрей": ["Андрюша"], "Ольга": ["Оля"], "Анна": ["Аня"],
              "Мария": ["Маша"], "Наталья": ["Наташа"], "Татьяна": ["Таня"],
              "Екатерина": ["Катя"], "Анастасия": ["Настя"], "Елена": ["Лена"],
              "Светлана": ["Света"], "Исмаил": ["Ismail"], "Якуб": ["Yakub"],
              "Идрис": ["Idris"], "Хасан": ["Hassan"], "Иса": ["Issa"], "Рамзан": ["Ramazan"]}

PLACES = ["Грозный", "Гудермес", "Урус-Мартан", "Шали", "Аргун", "Махачкала", "Хасавюрт",
          "Дербент", "Назрань", "Москва", "Санкт-Петербург", "Ростов-на-Дону", "Казань"]
VOWELS = "аеёиоуыэюя"
BASE = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "з": "z", "и": "i", "к": "k",
        "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "ы": "y", "э": "e", "ь": "", "ъ": ""}
SYSTEMS: dict[str, dict[str, str]] = {
    "icao": {"е": "e", "ё": "e", "ж": "zh", "й": "i", "х": "kh", "ц": "ts", "ч": "ch",
             "ш": "sh", "щ": "shch", "ю": "iu", "я": "ia"},
    "english": {"е": "e", "ё": "yo", "ж": "zh", "й": "y", "х": "kh", "ц": "ts", "ч": "ch",
                "ш": "sh", "щ": "shch", "ю": "yu", "я": "ya"},
    "german": {"е": "e", "ё": "jo", "ж": "sh", "й": "j", "х": "ch", "ц": "z", "ч": "tsch",
               "ш": "sch", "щ": "schtsch", "ю": "ju", "я": "ja", "в": "w", "з": "s"},
    "french": {"е": "e", "ё": "io", "ж": "j", "й": "i", "х": "kh", "ц": "ts", "ч": "tch",
               "ш": "ch", "щ": "chtch", "ю": "iou", "я": "ia", "у": "ou"},
    "polish": {"е": "e", "ё": "jo", "ж": "ż", "й": "j", "х": "ch", "ц": "c", "ч": "cz",
               "ш": "sz", "щ": "szcz", "ю": "ju", "я": "ja", "в": "w"},
}
# Where е is written with a glide (start of a word, after a vowel or a sign).
E_GLIDE = {"icao": "e", "english": "ye", "german": "je", "french": "ie", "polish": "je"}


def romanise(word: str, system: str) -> str:
    table = {**BASE, **SYSTEMS[system]}
    out = []
    lower = word.lower()
    for i, ch in enumerate(lower):
        prev = lower[i - 1] if i else ""
        if ch == "е" and (not prev or prev in VOWELS or prev in "ьъ"):
            out.append(E_GLIDE[system])
        elif system == "english" and ch == "и" and prev == "ь":
            out.append("yi")
        elif system == "english" and ch == "й" and prev in "иы" and i == len(lower) - 1:
            out.append("y")
        else:
            out.append(table.get(ch, ch))
    text = "".join(out)
    if system in {"german", "french"} and text.endswith("ev"):
        text = text[:-2] + ("ew" if system == "german" else "ev")
    if system == "german" and text.endswith("ov"):
        text = text[:-2] + "ow"
    return text[:1].upper() + text[1:]


def casual(word: str, rng: random.Random) -> str:
    text = romanise(word, "english").lower().replace("kh", "h")
    if rng.random() < 0.5:
        text = text.replace("y", "i")
    return text


def typo(word: str, rng: random.Random) -> str:
    letters = "abdegiklmnoprstuvz"
    i = rng.randrange(1, len(word))
    kind = rng.choice(["sub", "del", "ins"])
    if kind == "sub":
        options = [c for c in letters if c != word[i].lower()]
        return word[:i] + rng.choice(options) + word[i + 1:]
    if kind == "del":
        return word[:i] + word[i + 1:]
    return word[:i] + rng.choice(letters) + word[i:]


def patronymic(father: str, female: bool) -> str:
    stem = father
    if stem.endswith(("й", "ь")):
        stem, suffix = stem[:-1], ("евна" if female else "евич")
    elif stem[-1] in VOWELS:
        stem, suffix = stem[:-1], ("овна" if female else "ович")
        if father.endswith("а"):
            suffix = "ична" if female else "ич"
    else:
        suffix = "овна" if female else "ович"
    return stem + suffix


def feminine(surname: str) -> str:
    return surname + "а" if surname.endswith(("ов", "ев", "ин")) else surname


def zipf(pool: list[str], rng: random.Random, s: float = 1.1) -> str:
    weights = [1 / (i + 1) ** s for i in range(len(pool))]
    return rng.choices(pool, weights)[0]


@dataclass
class Identity:
    id: int
    given: str
    patronymic: str
    surname: str
    dob: str
    phone: str
    place: str = ""

    @property
    def legal_name(self) -> str:
        return f"{self.given} {self.patronymic} {self.surname}"


@dataclass
class Query:
    kind: str
    text: str
    target: int | None
    # The identities this query cannot tell apart from the target (same Cyrillic words).
    accept: list[int] = field(default_factory=list)


def dob_variant(dob: str, rng: random.Random) -> str:
    y, m, d = dob.split("-")
    kind = rng.choice(["year", "swap", "off"])
    if kind == "year":
        return y
    if kind == "swap" and int(d) <= 12:
        return f"{y}-{d}-{m}"
    return f"{int(y) + rng.choice([-1, 1])}-{m}-{d}"


def identities(n: int, rng: random.Random) -> list[Identity]:
    people = []
    for i in range(n):
        female = rng.random() < 0.35
        given = zipf(FEMALE if female else MALE, rng)
        surname = zipf(SURNAMES, rng, 0.9)
        father = zipf(MALE, rng)
        people.append(Identity(
            i, given, patronymic(father, female), feminine(surname) if female else surname,
            f"{rng.randint(1960, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            f"+7928{rng.randint(0, 9_999_999):07d}", zipf(PLACES, rng)))
    return people


KINDS = ["cyrillic", "icao", "english", "german", "french", "polish", "casual", "typo",
         "swapped", "no_patronymic", "equivalent"]


def queries(people: list[Identity], per_kind: int, rng: random.Random) -> list[Query]:
    by_full: dict[tuple[str, ...], list[int]] = {}
    by_short: dict[tuple[str, str], list[int]] = {}
    for p in people:
        by_full.setdefault((p.given, p.patronymic, p.surname), []).append(p.id)
        by_short.setdefault((p.given, p.surname), []).append(p.id)
    out: list[Query] = []
    for kind in KINDS:
        pool = [p for p in people if kind != "equivalent" or p.given in EQUIVALENT]
        for p in rng.sample(pool, min(per_kind, len(pool))):
            full = rng.random() < 0.5 and kind not in {"no_patronymic"}
            words = [p.given, p.patronymic, p.surname] if full else [p.given, p.surname]
            accept = by_full[(p.given, p.patronymic, p.surname)] if full else by_short[
                (p.given, p.surname)]
            if kind == "cyrillic":
                text = " ".join(words)
            elif kind in SYSTEMS:
                text = " ".join(romanise(w, kind) for w in words)
            elif kind == "casual":
                text = " ".join(casual(w, rng) for w in words)
            elif kind == "typo":
                romans = [romanise(w, "english") for w in words]
                j = rng.randrange(len(romans))
                romans[j] = typo(romans[j], rng)
                text = " ".join(romans)
            elif kind == "swapped":
                text = " ".join(romanise(w, rng.choice(list(SYSTEMS)))
                                for w in [words[-1], *words[:-1]])
            elif kind == "no_patronymic":
                text = " ".join(romanise(w, rng.choice(list(SYSTEMS))) for w in words)
            else:  # equivalent
                text = " ".join([rng.choice(EQUIVALENT[p.given]),
                                 *[romanise(w, "english") for w in words[1:]]])
            out.append(Query(kind, text, p.id, accept))
    return out + negatives(people, per_kind, rng, by_short)


def negatives(people: list[Identity], count: int, rng: random.Random,
              by_short: dict[tuple[str, str], list[int]]) -> list[Query]:
    out: list[Query] = []
    names = {(p.given, p.surname) for p in people}
    while len(out) < count:
        kind = rng.choice(["recombined", "patronymic", "surname"])
        p = rng.choice(people)
        system = rng.choice(list(SYSTEMS))
        if kind == "recombined":
            given, surname = p.given, zipf(SURNAMES, rng, 0.9)
            if (given, surname) in names or (given, feminine(surname)) in names:
                continue
            words = [given, surname]
        elif kind == "patronymic":
            other = patronymic(zipf(MALE, rng), p.patronymic.endswith("на"))
            if other == p.patronymic or len(by_short[(p.given, p.surname)]) > 1:
                continue
            words = [p.given, other, p.surname]
        else:
            chars = list(p.surname)
            for i in rng.sample(range(1, len(chars) - 2), 2):
                chars[i] = rng.choice([c for c in "бвгдзклмнпрст" if c != chars[i]])
            surname = "".join(chars)
            if any(s == surname for s in SURNAMES):
                continue
            words = [p.given, surname]
        out.append(Query(f"negative_{kind}", " ".join(romanise(w, system) for w in words),
                         None))
    return out


def duplicates(people: list[Identity], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Second records of ``count`` identities, as a second intake or a partner's referral
    would give them: another rendering of the name, the date of birth often partial or
    wrong in the usual ways, the phone often left out, the place in another script or left
    out."""
    out = []
    for p in rng.sample(people, min(count, len(people))):
        words = [p.given, p.patronymic, p.surname] if rng.random() < 0.4 else [p.given,
                                                                                 p.surname]
        style = rng.choice(["cyrillic", *SYSTEMS, "casual", "typo", "swapped", "equivalent"])
        if style == "cyrillic":
            text = " ".join(words)
        elif style in SYSTEMS:
            text = " ".join(romanise(w, style) for w in words)
        elif style == "casual":
            text = " ".join(casual(w, rng) for w in words)
        elif style == "typo":
            romans = [romanise(w, "english") for w in words]
            j = rng.randrange(len(romans))
            romans[j] = typo(romans[j], rng)
            text = " ".join(romans)
        elif style == "swapped":
            text = " ".join(romanise(w, "english") for w in [words[-1], *words[:-1]])
        else:
            given = rng.choice(EQUIVALENT.get(p.given, [p.given]))
            text = " ".join([given, *[romanise(w, "english") for w in words[1:]]])
        roll = rng.random()
        dob = p.dob if roll < 0.35 else p.dob[:4] if roll < 0.6 else p.dob[:7] if roll < 0.7 \
            else dob_variant(p.dob, rng) if roll < 0.9 else ""
        place = rng.choice([p.place, romanise(p.place, "english"), ""])
        out.append({"of": p.id, "name": text, "style": style, "dob": dob,
                    "phone": p.phone if rng.random() < 0.4 else "", "place": place,
                    "partial_dob": len(dob) < 10})
    return out


def generate(n: int, per_kind: int, seed: int, dups: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    people = identities(n, rng)
    qs = queries(people, per_kind, rng)
    return {"identities": [asdict(p) | {"legal_name": p.legal_name} for p in people],
            "queries": [asdict(q) for q in qs], "duplicates": duplicates(people, dups, rng)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--identities", type=int, default=600)
    parser.add_argument("--per-kind", type=int, default=120)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    print(json.dumps(generate(args.identities, args.per_kind, args.seed), ensure_ascii=False,
                     indent=1))
