"""Given names that are one name: one Arabic, Turkic or Christian name in its Russian,
Chechen, Daghestani and Western forms, and common Russian diminutives.

Each group lists spellings in any script; a group is found through the skeletons of its
spellings (``keys.skeletons``), so the other romanisations of each spelling need not be
listed ("Mohammed" covers "Mohamed", "Muhammed", "Mokhammed"). Kept small and reviewed by
hand: a wrong entry makes two different people look alike, so a name goes in only when
people commonly write the one for the other. ``keys.build_equivalents`` refuses a skeleton
claimed by two groups.
"""

from __future__ import annotations

GROUPS: dict[str, tuple[str, ...]] = {
    # Arabic-origin names across Russian, Chechen, Daghestani, Turkish and Western forms.
    "muhammad": ("Мухаммад", "Мухаммед", "Магомед", "Магомет", "Мохаммед",
                 "Muhammad", "Mohammed", "Mehmet", "Magomed", "Magomet", "Mahomet", "محمد"),
    "ahmad": ("Ахмед", "Ахмад", "Ахмет", "Ahmad", "Ahmed", "Ahmet", "أحمد"),
    "mahmud": ("Махмуд", "Махмут", "Mahmud", "Mahmoud", "Mahmut", "محمود"),
    "umar": ("Умар", "Омар", "Umar", "Omar", "Ömer", "عمر"),
    "husayn": ("Хусейн", "Хусайн", "Гусейн", "Husayn", "Hussein", "Huseyn", "Hüseyin", "حسين"),
    "hasan": ("Хасан", "Гасан", "Hasan", "Hassan", "حسن"),
    "yusuf": ("Юсуф", "Юсуп", "Yusuf", "Yusup", "Youssef", "يوسف"),
    "ibrahim": ("Ибрагим", "Ибрахим", "Ibragim", "Ibrahim", "Ebrahim", "إبراهيم"),
    "ismail": ("Исмаил", "Исмаиль", "Смаил", "Ismail", "Ismayil", "إسماعيل"),
    "sulayman": ("Сулейман", "Сулиман", "Сулайман", "Suleiman", "Sulayman", "Süleyman",
                 "سليمان"),
    "abdullah": ("Абдулла", "Абдуллах", "Abdullah", "Abdalla", "عبدالله"),
    "abdurrahman": ("Абдурахман", "Абдрахман", "Abdurrahman", "Abdrakhman"),
    "ali": ("Али", "Alee", "علي"),
    "isa": ("Иса", "Исса", "Isa", "Issa", "عيسى"),
    "musa": ("Муса", "Musa", "Moussa", "Mousa", "موسى"),
    "ramadan": ("Рамзан", "Рамазан", "Ramzan", "Ramadan", "Ramazan", "رمضان"),
    "khadija": ("Хадижат", "Хадиджа", "Хадижа", "Khadija", "Hatice", "خديجة"),
    "fatima": ("Фатима", "Патимат", "Фатимат", "Fatima", "Fatma", "Patimat", "فاطمة"),
    "amina": ("Амина", "Аминат", "Amina", "Aminat", "أمينة"),
    "zaynab": ("Зайнаб", "Зейнаб", "Зайнап", "Zaynab", "Zeinab", "Zeynep", "زينب"),
    "yunus": ("Юнус", "Юнас", "Yunus", "Younes", "يونس"),
    "yakub": ("Якуб", "Якуп", "Yakub", "Yaqub", "Yakup", "يعقوب"),
    "idris": ("Идрис", "Идрыс", "Idris", "Edris", "إدريس"),
    # Russian given names and their everyday forms.
    "aleksandr": ("Александр", "Александра", "Саша", "Шура", "Санька", "Alexander",
                  "Alexandre", "Alexandra"),
    "aleksey": ("Алексей", "Лёша", "Алёша", "Alexei", "Alexey"),
    "dmitriy": ("Дмитрий", "Дима", "Митя", "Dmitri", "Dimitri"),
    "mikhail": ("Михаил", "Миша", "Michael", "Mikhael"),
    "nikolay": ("Николай", "Коля", "Nicolas", "Nikolaus"),
    "sergey": ("Сергей", "Серёжа", "Serge", "Sergius"),
    "evgeniy": ("Евгений", "Евгения", "Женя", "Eugene", "Jewgeni"),
    "ekaterina": ("Екатерина", "Катя", "Катерина", "Catherine", "Katharina"),
    "mariya": ("Мария", "Маша", "Марья", "Maria", "Marie"),
    "anna": ("Анна", "Аня", "Анюта", "Anna", "Anne"),
    "elena": ("Елена", "Лена", "Алёна", "Helena", "Helene"),
    "olga": ("Ольга", "Оля", "Olga"),
    "ivan": ("Иван", "Ваня", "Ivan", "Iwan", "Johann"),
    "vladimir": ("Владимир", "Вова", "Володя", "Vladimir", "Wladimir"),
    "yuriy": ("Юрий", "Юра", "Yuri", "Georgi"),
    "pavel": ("Павел", "Паша", "Pavel", "Paul"),
    "anastasiya": ("Анастасия", "Настя", "Anastasia"),
    "tatyana": ("Татьяна", "Таня", "Tatiana"),
    "natalya": ("Наталья", "Наталия", "Наташа", "Natalia", "Natalie"),
    "andrey": ("Андрей", "Андрюша", "Andrei", "Andreas", "Andrew"),
    "konstantin": ("Константин", "Костя", "Konstantin", "Constantin"),
    "viktor": ("Виктор", "Витя", "Victor", "Viktor"),
    "svetlana": ("Светлана", "Света", "Svetlana"),
}
