"""Spanish templates (syntax: see templates_en)."""

FRAMES = {
    "found": [
        "{per}, {role} de {city}, fundó {org} en {year}.",
        "En {year}, {per}, {role} [nacido|nacida] en {city}, fundó {org}.",
        "{org} fue fundada en {year} por {per}, {role} [originario|originaria] de {city}.",
        "[Nacido|Nacida] en {city}, {per} trabajó como {role} antes de fundar {org} en {year}.",
    ],
    "join": [
        "{per}, {role} de {city}, se incorporó a {org} en {year}.",
        "En {year}, {per} entró en {org} como {role}; es natural de {city}.",
        "{org} contrató en {year} a {per}, {role} de {city}.",
        "{per} es de {city} y trabaja como {role} en {org} desde {year}.",
    ],
    "work": [
        "{per} trabaja como {role} en {org} y vive en {city}.",
        "{per} vive en {city}, donde trabaja para {org} como {role}.",
        "En {org}, {per} está [empleado|empleada] como {role}; vive en {city}.",
        "{per} es {role} en {org} y tiene su casa en {city}.",
    ],
    "move": [
        "{per} nació en {city}, pero ahora vive en {city2}.",
        "[Originario|Originaria] de {city}, {per} se mudó a {city2} hace algunos años.",
        "{per} creció en {city} y más tarde se estableció en {city2}.",
        "Aunque nació en {city}, {per} vive hoy en {city2}.",
    ],
    "since": [
        "{per} es {role} en {org} desde {year}.",
        "Desde {year}, {per} trabaja para {org} como {role}.",
        "{per} empezó a trabajar en {org} en {year} como {role}.",
        "{org} tiene a {per} en plantilla como {role} desde {year}.",
    ],
    "rolelive": [
        "{per} es {role} y vive en {city}.",
        "{per} vive en {city} y trabaja como {role}.",
        "En {city}, donde vive, {per} trabaja como {role}.",
        "{per}, {role}, reside en {city}.",
    ],
    "orgfound": [
        "{org} fue fundada por {per} en {year} y tiene su sede en {city}.",
        "{per} fundó {org} en {year}; la empresa tiene su sede en {city}.",
        "Con sede en {city}, {org} fue fundada en {year} por {per}.",
        "{org}, una empresa radicada en {city}, fue creada por {per} en {year}.",
    ],
    "orgsize": [
        "{org} tiene {num} empleados y su sede está en {city}.",
        "{org}, con sede en {city}, emplea a {num} personas.",
        "La sede de {org} se encuentra en {city}, y la empresa cuenta con {num} empleados.",
        "Con {num} empleados, {org} es uno de los mayores empleadores de {city}.",
    ],
}

HYPS = {
    "home": (["{per} es de {city}.", "{per} nació en {city}.", "{per} procede de {city}."],
             ["{per} no es de {city}.", "{per} no nació en {city}."]),
    "lives": (["{per} vive en {city}.", "{per} reside en {city}.",
               "{per} tiene su casa en {city}."],
              ["{per} no vive en {city}.", "{per} no reside en {city}."]),
    "role": (["{per} es {role}.", "{per} trabaja como {role}.", "{per} ejerce como {role}."],
             ["{per} no es {role}.", "{per} no trabaja como {role}."]),
    "org_join": (["{per} trabaja en {org}.", "{per} es [empleado|empleada] de {org}.",
                  "{per} forma parte de la plantilla de {org}."],
                 ["{per} no trabaja en {org}.", "{per} no es [empleado|empleada] de {org}."]),
    "org_found": (["{per} fundó {org}.", "{org} fue fundada por {per}.",
                   "{per} es [el fundador|la fundadora] de {org}."],
                  ["{per} no fundó {org}.", "{org} no fue fundada por {per}."]),
    "year_join": (["{per} se incorporó a {org} en {year}.", "{per} trabaja en {org} desde {year}.",
                   "{per} empezó a trabajar en {org} en {year}."],
                  ["{per} no se incorporó a {org} en {year}.",
                   "{per} no empezó a trabajar en {org} en {year}."]),
    "year_found": (["{per} fundó {org} en {year}.", "{org} fue fundada por {per} en {year}.",
                    "En {year}, {per} creó {org}."],
                   ["{per} no fundó {org} en {year}.", "{org} no fue fundada por {per} en {year}."]),
    "hq": (["{org} tiene su sede en {city}.", "La sede de {org} está en {city}.",
            "{org} está radicada en {city}."],
           ["{org} no tiene su sede en {city}.", "La sede de {org} no está en {city}."]),
    "staff": (["{org} tiene {num} empleados.", "{org} emplea a {num} personas.",
               "En {org} trabajan {num} personas."],
              ["{org} no tiene {num} empleados.", "{org} no emplea a {num} personas."]),
}

QUESTIONS = {
    "home": ["¿De dónde es {per}?", "¿En qué ciudad nació {per}?", "¿De qué ciudad procede {per}?"],
    "lives": ["¿Dónde vive {per}?", "¿En qué ciudad reside {per}?",
              "¿Dónde vive {per} actualmente?"],
    "role": ["¿Cuál es la profesión de {per}?", "¿A qué se dedica {per}?",
             "¿En qué trabaja {per}?"],
    "employer": ["¿En qué empresa trabaja {per}?", "¿Para qué compañía trabaja {per}?",
                 "¿Dónde está [empleado|empleada] {per}?"],
    "founded_org": ["¿Qué empresa fundó {per}?", "¿Qué compañía creó {per}?",
                    "¿Cuál es la empresa fundada por {per}?"],
    "founder": ["¿Quién fundó {org}?", "¿Quién creó {org}?", "¿Por quién fue fundada {org}?"],
    "join_year": ["¿Cuándo se incorporó {per} a {org}?",
                  "¿En qué año empezó {per} a trabajar en {org}?",
                  "¿Desde cuándo trabaja {per} en {org}?"],
    "found_year": ["¿Cuándo fue fundada {org}?", "¿En qué año se fundó {org}?",
                   "¿En qué año se creó {org}?"],
    "hq": ["¿Dónde tiene su sede {org}?", "¿En qué ciudad está la sede de {org}?",
           "¿Dónde está radicada {org}?"],
    "staff": ["¿Cuántos empleados tiene {org}?", "¿Cuántas personas trabajan en {org}?",
              "¿A cuántas personas emplea {org}?"],
}

EVENTS = {
    "business": [
        "{org} obtuvo un beneficio de {num} millones de euros en {year}.",
        "{org} abrirá el próximo año en {city} una nueva fábrica de {product}.",
        "Las acciones de {org} subieron un {pct} % después de que la empresa acordara comprar "
        "{org2}.",
        "{per}, [consejero delegado|consejera delegada] de {org}, anunció planes para vender "
        "{product} en {country}.",
        "{org} y {org2} firmaron un contrato de suministro por valor de {num} millones de euros.",
    ],
    "sports": [
        "{club} venció a {club2} en {city} y se colocó líder de la liga.",
        "{per} ganó el maratón de {city} con {small} minutos de ventaja.",
        "{per} marcó {small} goles con {club} esta temporada.",
        "[El entrenador|La entrenadora] de {club}, {per}, fue [destituido|destituida] tras una "
        "dura derrota ante {club2}.",
        "{country} organizará el Mundial de fútbol en {year}.",
    ],
    "science": [
        "Investigadores de {org} publicaron un estudio sobre {field}.",
        "{per}, [biólogo|bióloga] de {city}, descubrió una nueva especie de rana en {country}.",
        "Un equipo dirigido por {per} desarrolló un nuevo método para estudiar {field}.",
        "Un telescopio cerca de {city} observó una galaxia lejana durante {small} meses.",
        "{per} recibió en {year} un premio internacional por su investigación sobre {field}.",
    ],
    "politics": [
        "El parlamento de {country} aprobó una nueva ley sobre {policy}.",
        "{per} fue [elegido alcalde|elegida alcaldesa] de {city} con el {pct} % de los votos.",
        "{per} y {per2} se reunieron en {city} para hablar sobre {policy}.",
        "Miles de personas protestaron en {city} contra la reforma de {policy}.",
        "[El ministro|La ministra] {per} prometió reformar {policy} antes de las elecciones de "
        "{year}.",
    ],
}
