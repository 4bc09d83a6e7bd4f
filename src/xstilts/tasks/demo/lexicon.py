"""Names and vocabulary of the demo world in six languages.

Every row is a tuple in the order of `LANGS`: (en, de, es, ru, zh, ar). Inside a cell:

- "m|f" gives the masculine and feminine form (surnames, roles) where they differ;
- Russian places and terms list their cases, "nom|loc|gen" (places) or as named in `FORMS`;
- Russian roles are "nom/ins" (nominative / instrumental), per gender.

The pools are split by index (see `world.pool`): a third of each list is seen only in
training data, a third only in test data, a third in both, so that memorising names is
not enough to tag or answer.
"""

from __future__ import annotations

LANGS = ("en", "de", "es", "ru", "zh", "ar")

GIVEN_M = [
    ("David", "David", "David", "Давид", "大卫", "ديفيد"),
    ("Ivan", "Ivan", "Iván", "Иван", "伊万", "إيفان"),
    ("Omar", "Omar", "Omar", "Омар", "奥马尔", "عمر"),
    ("Carlos", "Carlos", "Carlos", "Карлос", "卡洛斯", "كارلوس"),
    ("Thomas", "Thomas", "Thomas", "Томас", "托马斯", "توماس"),
    ("Daniel", "Daniel", "Daniel", "Даниэль", "丹尼尔", "دانيال"),
    ("Lukas", "Lukas", "Lukas", "Лукас", "卢卡斯", "لوكاس"),
    ("Martin", "Martin", "Martín", "Мартин", "马丁", "مارتن"),
    ("Pavel", "Pavel", "Pável", "Павел", "帕维尔", "بافيل"),
    ("Karim", "Karim", "Karim", "Карим", "卡里姆", "كريم"),
    ("Hassan", "Hassan", "Hasán", "Хасан", "哈桑", "حسن"),
    ("Felix", "Felix", "Félix", "Феликс", "费利克斯", "فيليكس"),
    ("Diego", "Diego", "Diego", "Диего", "迭戈", "دييغو"),
    ("Samuel", "Samuel", "Samuel", "Самуэль", "塞缪尔", "صامويل"),
    ("Viktor", "Viktor", "Víctor", "Виктор", "维克多", "فيكتور"),
    ("Mikhail", "Michail", "Mijaíl", "Михаил", "米哈伊尔", "ميخائيل"),
    ("Jonas", "Jonas", "Jonás", "Йонас", "约纳斯", "يوناس"),
    ("Andrei", "Andrei", "Andréi", "Андрей", "安德烈", "أندريه"),
    ("Youssef", "Youssef", "Youssef", "Юсеф", "优素福", "يوسف"),
    ("Paolo", "Paolo", "Paolo", "Паоло", "保罗", "باولو"),
    ("Oleg", "Oleg", "Oleg", "Олег", "奥列格", "أوليغ"),
]

GIVEN_F = [
    ("Anna", "Anna", "Ana", "Анна", "安娜", "آنا"),
    ("Maria", "Maria", "María", "Мария", "玛丽亚", "ماريا"),
    ("Elena", "Elena", "Elena", "Елена", "叶莲娜", "إيلينا"),
    ("Sofia", "Sofia", "Sofía", "София", "索菲亚", "صوفيا"),
    ("Laura", "Laura", "Laura", "Лаура", "劳拉", "لورا"),
    ("Julia", "Julia", "Julia", "Юлия", "尤利娅", "يوليا"),
    ("Clara", "Clara", "Clara", "Клара", "克拉拉", "كلارا"),
    ("Nina", "Nina", "Nina", "Нина", "尼娜", "نينا"),
    ("Olga", "Olga", "Olga", "Ольга", "奥尔加", "أولغا"),
    ("Fatima", "Fatima", "Fátima", "Фатима", "法蒂玛", "فاطمة"),
    ("Layla", "Layla", "Layla", "Лейла", "莱拉", "ليلى"),
    ("Irina", "Irina", "Irina", "Ирина", "伊琳娜", "إيرينا"),
    ("Marta", "Marta", "Marta", "Марта", "玛尔塔", "مارتا"),
    ("Lucia", "Lucia", "Lucía", "Лусия", "露西娅", "لوسيا"),
    ("Emma", "Emma", "Emma", "Эмма", "艾玛", "إيما"),
    ("Hanna", "Hanna", "Hanna", "Ханна", "汉娜", "هانا"),
    ("Amira", "Amira", "Amira", "Амира", "阿米拉", "أميرة"),
    ("Natalia", "Natalia", "Natalia", "Наталья", "娜塔莉娅", "ناتاليا"),
    ("Paula", "Paula", "Paula", "Паула", "保拉", "باولا"),
    ("Eva", "Eva", "Eva", "Ева", "伊娃", "إيفا"),
    ("Yasmin", "Yasmin", "Yasmín", "Ясмин", "雅斯敏", "ياسمين"),
]

SURNAMES = [
    ("Petrov|Petrova", "Petrov|Petrova", "Petrov|Petrova", "Петров|Петрова",
     "彼得罗夫|彼得罗娃", "بتروف|بتروفا"),
    ("Smirnov|Smirnova", "Smirnow|Smirnowa", "Smirnov|Smirnova", "Смирнов|Смирнова",
     "斯米尔诺夫|斯米尔诺娃", "سميرنوف|سميرنوفا"),
    ("Sokolov|Sokolova", "Sokolow|Sokolowa", "Sokolov|Sokolova", "Соколов|Соколова",
     "索科洛夫|索科洛娃", "سوكولوف|سوكولوفا"),
    ("Volkov|Volkova", "Wolkow|Wolkowa", "Volkov|Volkova", "Волков|Волкова",
     "沃尔科夫|沃尔科娃", "فولكوف|فولكوفا"),
    ("Orlov|Orlova", "Orlow|Orlowa", "Orlov|Orlova", "Орлов|Орлова", "奥尔洛夫|奥尔洛娃",
     "أورلوف|أورلوفا"),
    ("Müller", "Müller", "Müller", "Мюллер", "穆勒", "مولر"),
    ("Schneider", "Schneider", "Schneider", "Шнайдер", "施耐德", "شنايدر"),
    ("Weber", "Weber", "Weber", "Вебер", "韦伯", "فيبر"),
    ("Fischer", "Fischer", "Fischer", "Фишер", "菲舍尔", "فيشر"),
    ("Becker", "Becker", "Becker", "Беккер", "贝克尔", "بيكر"),
    ("Garcia", "García", "García", "Гарсия", "加西亚", "غارسيا"),
    ("Lopez", "López", "López", "Лопес", "洛佩斯", "لوبيز"),
    ("Martinez", "Martínez", "Martínez", "Мартинес", "马丁内斯", "مارتينيز"),
    ("Romero", "Romero", "Romero", "Ромеро", "罗梅罗", "روميرو"),
    ("Torres", "Torres", "Torres", "Торрес", "托雷斯", "توريس"),
    ("Haddad", "Haddad", "Haddad", "Хаддад", "哈达德", "حداد"),
    ("Nasser", "Nasser", "Nasser", "Насер", "纳赛尔", "ناصر"),
    ("Khalil", "Khalil", "Jalil", "Халил", "哈利勒", "خليل"),
    ("Mansour", "Mansour", "Mansur", "Мансур", "曼苏尔", "منصور"),
    ("Rossi", "Rossi", "Rossi", "Росси", "罗西", "روسي"),
    ("Bianchi", "Bianchi", "Bianchi", "Бьянки", "比安奇", "بيانكي"),
    ("Novak", "Novak", "Novak", "Новак", "诺瓦克", "نوفاك"),
    ("Larsen", "Larsen", "Larsen", "Ларсен", "拉森", "لارسن"),
    ("Dubois", "Dubois", "Dubois", "Дюбуа", "杜布瓦", "دوبوا"),
    ("Kowalski|Kowalska", "Kowalski|Kowalska", "Kowalski|Kowalska", "Ковальский|Ковальская",
     "科瓦尔斯基|科瓦尔斯卡", "كوفالسكي|كوفالسكا"),
    ("Silva", "Silva", "Silva", "Силва", "席尔瓦", "سيلفا"),
    ("Costa", "Costa", "Costa", "Коста", "科斯塔", "كوستا"),
    ("Horvat", "Horvat", "Horvat", "Хорват", "霍瓦特", "هورفات"),
    ("Yilmaz", "Yılmaz", "Yılmaz", "Йылмаз", "耶尔马兹", "يلماز"),
    ("Tanaka", "Tanaka", "Tanaka", "Танака", "田中", "تاناكا"),
]

# Countries: the city rows below point at these by index.
COUNTRIES = [
    ("Spain", "Spanien", "España", "Испания|Испании|Испании", "西班牙", "إسبانيا"),
    ("Germany", "Deutschland", "Alemania", "Германия|Германии|Германии", "德国", "ألمانيا"),
    ("Russia", "Russland", "Rusia", "Россия|России|России", "俄罗斯", "روسيا"),
    ("China", "China", "China", "Китай|Китае|Китая", "中国", "الصين"),
    ("Egypt", "Ägypten", "Egipto", "Египет|Египте|Египта", "埃及", "مصر"),
    ("Morocco", "Marokko", "Marruecos", "Марокко|Марокко|Марокко", "摩洛哥", "المغرب"),
    ("France", "Frankreich", "Francia", "Франция|Франции|Франции", "法国", "فرنسا"),
    ("Italy", "Italien", "Italia", "Италия|Италии|Италии", "意大利", "إيطاليا"),
    ("Austria", "Österreich", "Austria", "Австрия|Австрии|Австрии", "奥地利", "النمسا"),
    ("Japan", "Japan", "Japón", "Япония|Японии|Японии", "日本", "اليابان"),
    ("Brazil", "Brasilien", "Brasil", "Бразилия|Бразилии|Бразилии", "巴西", "البرازيل"),
    ("Portugal", "Portugal", "Portugal", "Португалия|Португалии|Португалии", "葡萄牙",
     "البرتغال"),
]

CITIES = [
    ("Madrid", "Madrid", "Madrid", "Мадрид|Мадриде|Мадрида", "马德里", "مدريد"),
    ("Barcelona", "Barcelona", "Barcelona", "Барселона|Барселоне|Барселоны", "巴塞罗那",
     "برشلونة"),
    ("Seville", "Sevilla", "Sevilla", "Севилья|Севилье|Севильи", "塞维利亚", "إشبيلية"),
    ("Valencia", "Valencia", "Valencia", "Валенсия|Валенсии|Валенсии", "瓦伦西亚", "فالنسيا"),
    ("Berlin", "Berlin", "Berlín", "Берлин|Берлине|Берлина", "柏林", "برلين"),
    ("Munich", "München", "Múnich", "Мюнхен|Мюнхене|Мюнхена", "慕尼黑", "ميونخ"),
    ("Hamburg", "Hamburg", "Hamburgo", "Гамбург|Гамбурге|Гамбурга", "汉堡", "هامبورغ"),
    ("Cologne", "Köln", "Colonia", "Кёльн|Кёльне|Кёльна", "科隆", "كولونيا"),
    ("Moscow", "Moskau", "Moscú", "Москва|Москве|Москвы", "莫斯科", "موسكو"),
    ("Saint Petersburg", "Sankt Petersburg", "San Petersburgo",
     "Санкт-Петербург|Санкт-Петербурге|Санкт-Петербурга", "圣彼得堡", "سانت بطرسبرغ"),
    ("Kazan", "Kasan", "Kazán", "Казань|Казани|Казани", "喀山", "قازان"),
    ("Novosibirsk", "Nowosibirsk", "Novosibirsk", "Новосибирск|Новосибирске|Новосибирска",
     "新西伯利亚", "نوفوسيبيرسك"),
    ("Beijing", "Peking", "Pekín", "Пекин|Пекине|Пекина", "北京", "بكين"),
    ("Shanghai", "Shanghai", "Shanghái", "Шанхай|Шанхае|Шанхая", "上海", "شنغهاي"),
    ("Shenzhen", "Shenzhen", "Shenzhen", "Шэньчжэнь|Шэньчжэне|Шэньчжэня", "深圳", "شنتشن"),
    ("Chengdu", "Chengdu", "Chengdu", "Чэнду|Чэнду|Чэнду", "成都", "تشنغدو"),
    ("Cairo", "Kairo", "El Cairo", "Каир|Каире|Каира", "开罗", "القاهرة"),
    ("Alexandria", "Alexandria", "Alejandría", "Александрия|Александрии|Александрии",
     "亚历山大", "الإسكندرية"),
    ("Casablanca", "Casablanca", "Casablanca", "Касабланка|Касабланке|Касабланки", "卡萨布兰卡",
     "الدار البيضاء"),
    ("Rabat", "Rabat", "Rabat", "Рабат|Рабате|Рабата", "拉巴特", "الرباط"),
    ("Paris", "Paris", "París", "Париж|Париже|Парижа", "巴黎", "باريس"),
    ("Marseille", "Marseille", "Marsella", "Марсель|Марселе|Марселя", "马赛", "مرسيليا"),
    ("Rome", "Rom", "Roma", "Рим|Риме|Рима", "罗马", "روما"),
    ("Milan", "Mailand", "Milán", "Милан|Милане|Милана", "米兰", "ميلانو"),
    ("Vienna", "Wien", "Viena", "Вена|Вене|Вены", "维也纳", "فيينا"),
    ("Tokyo", "Tokio", "Tokio", "Токио|Токио|Токио", "东京", "طوكيو"),
    ("Osaka", "Osaka", "Osaka", "Осака|Осаке|Осаки", "大阪", "أوساكا"),
    ("São Paulo", "São Paulo", "São Paulo", "Сан-Паулу|Сан-Паулу|Сан-Паулу", "圣保罗",
     "ساو باولو"),
    ("Rio de Janeiro", "Rio de Janeiro", "Río de Janeiro",
     "Рио-де-Жанейро|Рио-де-Жанейро|Рио-де-Жанейро", "里约热内卢", "ريو دي جانيرو"),
    ("Lisbon", "Lissabon", "Lisboa", "Лиссабон|Лиссабоне|Лиссабона", "里斯本", "لشبونة"),
    ("Porto", "Porto", "Oporto", "Порту|Порту|Порту", "波尔图", "بورتو"),
]

# Companies (Arabic and Chinese render them as usual there: translated or transliterated).
ORGS = [
    ("Nordwind Systems", "Nordwind Systems", "Nordwind Systems", "Нордвинд Системс", "北风系统",
     "نوردويند سيستمز"),
    ("Polaris Labs", "Polaris Labs", "Polaris Labs", "Поларис Лабс", "北极星实验室",
     "بولاريس لابس"),
    ("Orbis Media", "Orbis Media", "Orbis Media", "Орбис Медиа", "奥比斯传媒", "أوربيس ميديا"),
    ("Kestrel Energy", "Kestrel Energy", "Kestrel Energy", "Кестрел Энерджи", "红隼能源",
     "كيستريل للطاقة"),
    ("Altamira Foods", "Altamira Foods", "Altamira Foods", "Альтамира Фудс", "阿尔塔米拉食品",
     "ألتاميرا للأغذية"),
    ("Veltro Motors", "Veltro Motors", "Veltro Motors", "Велтро Моторс", "维尔特罗汽车",
     "فيلترو موتورز"),
    ("Helios Pharma", "Helios Pharma", "Helios Pharma", "Гелиос Фарма", "赫利俄斯制药",
     "هيليوس فارما"),
    ("Zenit Bank", "Zenit Bank", "Zenit Bank", "Зенит Банк", "天顶银行", "زينيت بنك"),
    ("Bluepeak Software", "Bluepeak Software", "Bluepeak Software", "Блюпик Софтвер",
     "蓝峰软件", "بلوبيك للبرمجيات"),
    ("Sierra Logistics", "Sierra Logistics", "Sierra Logistics", "Сьерра Логистикс",
     "谢拉物流", "سييرا لوجستيك"),
    ("Marigold Textiles", "Marigold Textiles", "Marigold Textiles", "Мэриголд Текстайл",
     "金盏花纺织", "ماريغولد للنسيج"),
    ("Granite Steel", "Granite Steel", "Granite Steel", "Гранит Стил", "花岗岩钢铁",
     "غرانيت للصلب"),
    ("Lumen Optics", "Lumen Optics", "Lumen Optics", "Люмен Оптикс", "流明光学",
     "لومين للبصريات"),
    ("Tessera Robotics", "Tessera Robotics", "Tessera Robotics", "Тессера Роботикс",
     "泰塞拉机器人", "تيسيرا للروبوتات"),
    ("Aurora Airlines", "Aurora Airlines", "Aurora Airlines", "Аврора Эйрлайнс", "极光航空",
     "أورورا للطيران"),
    ("Cobalt Mining", "Cobalt Mining", "Cobalt Mining", "Кобальт Майнинг", "科博特矿业",
     "كوبالت للتعدين"),
    ("Meridian Insurance", "Meridian Insurance", "Meridian Insurance", "Меридиан Иншуранс",
     "子午线保险", "ميريديان للتأمين"),
    ("Rossi Foods", "Rossi Foods", "Rossi Foods", "Росси Фудс", "罗西食品", "روسي للأغذية"),
    ("Kazan Motors", "Kasan Motors", "Kazán Motors", "Казань Моторс", "喀山汽车",
     "قازان موتورز"),
    ("Vega Telecom", "Vega Telecom", "Vega Telecom", "Вега Телеком", "织女星电信",
     "فيغا للاتصالات"),
    ("Quanta Chemicals", "Quanta Chemicals", "Quanta Chemicals", "Кванта Кемикалс", "匡塔化工",
     "كوانتا للكيماويات"),
]

CLUBS = [
    ("FC Astra", "FC Astra", "FC Astra", "Астра", "阿斯特拉足球俱乐部", "أسترا"),
    ("Dynamo Riva", "Dynamo Riva", "Dinamo Riva", "Динамо Рива", "里瓦迪纳摩", "دينامو ريفا"),
    ("Sporting Nova", "Sporting Nova", "Sporting Nova", "Спортинг Нова", "诺瓦竞技",
     "سبورتينغ نوفا"),
    ("Union Falke", "Union Falke", "Unión Falke", "Унион Фальке", "法尔克联合", "يونيون فالكه"),
    ("Atlético Sol", "Atlético Sol", "Atlético Sol", "Атлетико Соль", "太阳竞技",
     "أتلتيكو سول"),
    ("Olimpia Brava", "Olimpia Brava", "Olimpia Brava", "Олимпия Брава", "布拉瓦奥林匹亚",
     "أوليمبيا برافا"),
    ("Racing Lumo", "Racing Lumo", "Racing Lumo", "Расинг Лумо", "卢莫竞技", "راسينغ لومو"),
    ("Torpedo Lada", "Torpedo Lada", "Torpedo Lada", "Торпедо Лада", "拉达鱼雷",
     "توربيدو لادا"),
    ("Athletic Mira", "Athletic Mira", "Athletic Mira", "Атлетик Мира", "米拉竞技",
     "أتلتيك ميرا"),
]

ROLES = [
    ("engineer", "Ingenieur|Ingenieurin", "ingeniero|ingeniera", "инженер/инженером", "工程师",
     "مهندس|مهندسة"),
    ("doctor", "Arzt|Ärztin", "médico|médica", "врач/врачом", "医生", "طبيب|طبيبة"),
    ("teacher", "Lehrer|Lehrerin", "profesor|profesora",
     "учитель/учителем|учительница/учительницей", "教师", "معلم|معلمة"),
    ("journalist", "Journalist|Journalistin", "periodista",
     "журналист/журналистом|журналистка/журналисткой", "记者", "صحفي|صحفية"),
    ("architect", "Architekt|Architektin", "arquitecto|arquitecta", "архитектор/архитектором",
     "建筑师", "مهندس معماري|مهندسة معمارية"),
    ("lawyer", "Anwalt|Anwältin", "abogado|abogada", "юрист/юристом", "律师", "محامي|محامية"),
    ("chemist", "Chemiker|Chemikerin", "químico|química", "химик/химиком", "化学家",
     "كيميائي|كيميائية"),
    ("pilot", "Pilot|Pilotin", "piloto", "пилот/пилотом", "飞行员", "طيار|طيارة"),
    ("designer", "Designer|Designerin", "diseñador|diseñadora", "дизайнер/дизайнером", "设计师",
     "مصمم|مصممة"),
    ("economist", "Ökonom|Ökonomin", "economista", "экономист/экономистом", "经济学家",
     "اقتصادي|اقتصادية"),
    ("biologist", "Biologe|Biologin", "biólogo|bióloga", "биолог/биологом", "生物学家",
     "عالم أحياء|عالمة أحياء"),
    ("musician", "Musiker|Musikerin", "músico|música", "музыкант/музыкантом", "音乐家",
     "موسيقي|موسيقية"),
    ("nurse", "Krankenpfleger|Krankenpflegerin", "enfermero|enfermera",
     "медбрат/медбратом|медсестра/медсестрой", "护士", "ممرض|ممرضة"),
    ("accountant", "Buchhalter|Buchhalterin", "contable", "бухгалтер/бухгалтером", "会计师",
     "محاسب|محاسبة"),
]

# Terms used by the event sentences. Spanish fields and policies carry their article.
FIELDS = [
    ("climate change", "Klimawandel", "el cambio climático", "изменение климата|изменения климата",
     "气候变化", "تغير المناخ"),
    ("batteries", "Batterien", "las baterías", "аккумуляторы|аккумуляторов", "电池", "البطاريات"),
    ("proteins", "Proteine", "las proteínas", "белки|белков", "蛋白质", "البروتينات"),
    ("black holes", "Schwarze Löcher", "los agujeros negros", "чёрные дыры|чёрных дыр", "黑洞",
     "الثقوب السوداء"),
    ("vaccines", "Impfstoffe", "las vacunas", "вакцины|вакцин", "疫苗", "اللقاحات"),
    ("quantum computers", "Quantencomputer", "los ordenadores cuánticos",
     "квантовые компьютеры|квантовых компьютеров", "量子计算机", "الحواسيب الكمومية"),
    ("coral reefs", "Korallenriffe", "los arrecifes de coral", "коралловые рифы|коралловых рифов",
     "珊瑚礁", "الشعاب المرجانية"),
    ("sleep", "Schlaf", "el sueño", "сон|сна", "睡眠", "النوم"),
]

PRODUCTS = [
    ("electric cars", "Elektroautos", "coches eléctricos", "электромобили|электромобилей",
     "电动汽车", "السيارات الكهربائية"),
    ("smartphones", "Smartphones", "teléfonos inteligentes", "смартфоны|смартфонов", "智能手机",
     "الهواتف الذكية"),
    ("solar panels", "Solarmodule", "paneles solares", "солнечные панели|солнечных панелей",
     "太阳能电池板", "الألواح الشمسية"),
    ("coffee", "Kaffee", "café", "кофе|кофе", "咖啡", "القهوة"),
    ("steel", "Stahl", "acero", "сталь|стали", "钢铁", "الصلب"),
    ("medicines", "Medikamente", "medicamentos", "лекарства|лекарств", "药品", "الأدوية"),
    ("software", "Software", "software", "программное обеспечение|программного обеспечения",
     "软件", "البرمجيات"),
]

POLICIES = [
    ("taxes", "Steuern", "los impuestos", "налоги|налогов|о налогах", "税收", "الضرائب"),
    ("education", "Bildung", "la educación", "образование|образования|об образовании", "教育",
     "التعليم"),
    ("healthcare", "Gesundheitsversorgung", "la sanidad",
     "здравоохранение|здравоохранения|о здравоохранении", "医疗", "الرعاية الصحية"),
    ("pensions", "Renten", "las pensiones", "пенсии|пенсий|о пенсиях", "养老金",
     "المعاشات التقاعدية"),
    ("immigration", "Einwanderung", "la inmigración", "иммиграция|иммиграции|об иммиграции",
     "移民", "الهجرة"),
    ("public transport", "Nahverkehr", "el transporte público",
     "общественный транспорт|общественного транспорта|об общественном транспорте", "公共交通",
     "النقل العام"),
]

TERMS = {"field": FIELDS, "product": PRODUCTS, "policy": POLICIES}

# Names of the case forms stored in Russian cells ("nom|loc|gen" and so on).
FORMS = {
    "place": ("nom", "loc", "gen"),
    "field": ("nom", "gen"),
    "product": ("nom", "gen"),
    "policy": ("nom", "gen", "about"),
}

# English roles that take "an".
EN_AN = {"engineer", "architect", "economist", "accountant"}
