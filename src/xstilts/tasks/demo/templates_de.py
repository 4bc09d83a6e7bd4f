"""German templates (syntax: see templates_en)."""

FRAMES = {
    "found": [
        "{per}, [ein|eine] {role} aus {city}, gründete im Jahr {year} das Unternehmen {org}.",
        "Im Jahr {year} gründete {per}, [ein|eine] {role} aus {city}, das Unternehmen {org}.",
        "{org} wurde {year} von {per} gegründet; [er|sie] ist {role} und stammt aus {city}.",
        "Geboren in {city}, arbeitete {per} als {role}, bevor [er|sie] {year} {org} gründete.",
    ],
    "join": [
        "{per}, [ein|eine] {role} aus {city}, kam im Jahr {year} zu {org}.",
        "Im Jahr {year} fing {per} als {role} bei {org} an; [er|sie] stammt aus {city}.",
        "{org} stellte {per} im Jahr {year} als {role} ein; [er|sie] kommt aus {city}.",
        "{per} stammt aus {city} und arbeitet seit {year} als {role} bei {org}.",
    ],
    "work": [
        "{per} arbeitet als {role} bei {org} und lebt in {city}.",
        "{per} lebt in {city} und ist als {role} bei {org} angestellt.",
        "Bei {org} ist {per} als {role} tätig; [er|sie] wohnt in {city}.",
        "{per} ist {role} bei {org} und hat [sein|ihr] Zuhause in {city}.",
    ],
    "move": [
        "{per} wurde in {city} geboren, lebt aber heute in {city2}.",
        "Ursprünglich aus {city}, zog {per} vor einigen Jahren nach {city2}.",
        "{per} wuchs in {city} auf und ließ sich später in {city2} nieder.",
        "Obwohl [er|sie] in {city} geboren wurde, lebt {per} heute in {city2}.",
    ],
    "since": [
        "{per} ist seit {year} als {role} bei {org} beschäftigt.",
        "Seit {year} arbeitet {per} als {role} für {org}.",
        "{per} begann {year} als {role} bei {org}.",
        "{org} beschäftigt {per} seit {year} als {role}.",
    ],
    "rolelive": [
        "{per} ist {role} und lebt in {city}.",
        "{per} wohnt in {city} und arbeitet als {role}.",
        "In {city}, wo [er|sie] lebt, arbeitet {per} als {role}.",
        "{per}, [ein|eine] {role}, lebt in {city}.",
    ],
    "orgfound": [
        "{org} wurde {year} von {per} gegründet und hat seinen Sitz in {city}.",
        "{per} gründete {org} im Jahr {year}; das Unternehmen sitzt in {city}.",
        "Das in {city} ansässige Unternehmen {org} wurde {year} von {per} gegründet.",
        "{org} mit Sitz in {city} wurde im Jahr {year} von {per} ins Leben gerufen.",
    ],
    "orgsize": [
        "{org} hat {num} Beschäftigte und seinen Hauptsitz in {city}.",
        "{org}, das in {city} ansässig ist, beschäftigt {num} Menschen.",
        "Der Hauptsitz von {org} liegt in {city}; das Unternehmen hat {num} Mitarbeiter.",
        "Mit {num} Beschäftigten gehört {org} zu den größten Arbeitgebern in {city}.",
    ],
}

HYPS = {
    "home": (["{per} stammt aus {city}.", "{per} wurde in {city} geboren.",
              "{per} kommt aus {city}."],
             ["{per} stammt nicht aus {city}.", "{per} wurde nicht in {city} geboren."]),
    "lives": (["{per} lebt in {city}.", "{per} wohnt in {city}.",
               "{per} ist in {city} zu Hause."],
              ["{per} lebt nicht in {city}.", "{per} wohnt nicht in {city}."]),
    "role": (["{per} ist {role}.", "{per} arbeitet als {role}.", "{per} ist von Beruf {role}."],
             ["{per} ist [kein|keine] {role}.", "{per} arbeitet nicht als {role}."]),
    "org_join": (["{per} arbeitet bei {org}.", "{per} ist bei {org} angestellt.",
                  "{per} gehört zur Belegschaft von {org}."],
                 ["{per} arbeitet nicht bei {org}.", "{per} ist nicht bei {org} angestellt."]),
    "org_found": (["{per} hat {org} gegründet.", "{org} wurde von {per} gegründet.",
                   "{per} ist [der Gründer|die Gründerin] von {org}."],
                  ["{per} hat {org} nicht gegründet.", "{org} wurde nicht von {per} gegründet."]),
    "year_join": (["{per} kam {year} zu {org}.", "{per} arbeitet seit {year} bei {org}.",
                   "{per} hat {year} bei {org} angefangen."],
                  ["{per} kam nicht {year} zu {org}.",
                   "{per} hat nicht {year} bei {org} angefangen."]),
    "year_found": (["{per} hat {org} {year} gegründet.", "{org} wurde {year} von {per} gegründet.",
                    "{per} gründete {org} im Jahr {year}."],
                   ["{per} hat {org} nicht {year} gegründet.",
                    "{org} wurde nicht im Jahr {year} von {per} gegründet."]),
    "hq": (["{org} hat seinen Sitz in {city}.",
            "Der Hauptsitz von {org} befindet sich in {city}.", "{org} ist in {city} ansässig."],
           ["{org} hat seinen Sitz nicht in {city}.",
            "Der Hauptsitz von {org} liegt nicht in {city}."]),
    "staff": (["{org} hat {num} Beschäftigte.", "{org} beschäftigt {num} Mitarbeiter.",
               "Bei {org} arbeiten {num} Menschen."],
              ["{org} hat nicht {num} Beschäftigte.",
               "{org} beschäftigt nicht {num} Mitarbeiter."]),
}

QUESTIONS = {
    "home": ["Woher stammt {per}?", "Aus welcher Stadt kommt {per}?", "Wo wurde {per} geboren?"],
    "lives": ["Wo lebt {per}?", "In welcher Stadt wohnt {per}?", "Wo wohnt {per} heute?"],
    "role": ["Welchen Beruf hat {per}?", "Als was arbeitet {per}?", "Was ist {per} von Beruf?"],
    "employer": ["Bei welchem Unternehmen arbeitet {per}?", "Für welche Firma ist {per} tätig?",
                 "Wo ist {per} angestellt?"],
    "founded_org": ["Welches Unternehmen hat {per} gegründet?", "Welche Firma gründete {per}?",
                    "Welches Unternehmen wurde von {per} gegründet?"],
    "founder": ["Wer hat {org} gegründet?", "Wer gründete {org}?",
                "Von wem wurde {org} gegründet?"],
    "join_year": ["Wann kam {per} zu {org}?", "In welchem Jahr fing {per} bei {org} an?",
                  "Seit wann arbeitet {per} bei {org}?"],
    "found_year": ["Wann wurde {org} gegründet?", "In welchem Jahr wurde {org} gegründet?",
                   "Seit welchem Jahr gibt es {org}?"],
    "hq": ["Wo hat {org} seinen Sitz?", "In welcher Stadt befindet sich der Hauptsitz von {org}?",
           "Wo ist {org} ansässig?"],
    "staff": ["Wie viele Beschäftigte hat {org}?", "Wie viele Menschen arbeiten bei {org}?",
              "Wie viele Mitarbeiter beschäftigt {org}?"],
}

EVENTS = {
    "business": [
        "{org} hat im Jahr {year} einen Gewinn von {num} Millionen Euro erzielt.",
        "{org} wird im nächsten Jahr in {city} eine neue Fabrik für {product} eröffnen.",
        "Die Aktie von {org} stieg um {pct} Prozent, nachdem das Unternehmen der Übernahme "
        "von {org2} zugestimmt hatte.",
        "{per}, [Vorstandschef|Vorstandschefin] von {org}, kündigte an, {product} in {country} "
        "zu verkaufen.",
        "{org} und {org2} unterzeichneten einen Liefervertrag im Wert von {num} Millionen Euro.",
    ],
    "sports": [
        "{club} besiegte {club2} in {city} und übernahm die Tabellenführung.",
        "{per} gewann den Marathon in {city} mit {small} Minuten Vorsprung.",
        "{per} erzielte in dieser Saison {small} Tore für {club}.",
        "[Der Trainer|Die Trainerin] von {club}, {per}, wurde nach einer hohen Niederlage gegen "
        "{club2} entlassen.",
        "{country} wird im Jahr {year} die Fußball-Weltmeisterschaft ausrichten.",
    ],
    "science": [
        "Forscher von {org} veröffentlichten eine Studie zum Thema {field}.",
        "{per}, [ein Biologe|eine Biologin] aus {city}, entdeckte in {country} eine neue "
        "Froschart.",
        "Ein Team um {per} hat eine neue Methode entwickelt, um {field} zu untersuchen.",
        "Ein Teleskop bei {city} beobachtete {small} Monate lang eine ferne Galaxie.",
        "{per} erhielt im Jahr {year} einen internationalen Preis für die Forschung zum Thema "
        "{field}.",
    ],
    "politics": [
        "Das Parlament von {country} verabschiedete ein neues Gesetz zum Thema {policy}.",
        "{per} wurde mit {pct} Prozent der Stimmen [zum Bürgermeister|zur Bürgermeisterin] von "
        "{city} gewählt.",
        "{per} und {per2} trafen sich in {city}, um über {policy} zu sprechen.",
        "In {city} protestierten Tausende Menschen gegen die Reform im Bereich {policy}.",
        "[Minister|Ministerin] {per} versprach, vor der Wahl im Jahr {year} den Bereich "
        "{policy} zu reformieren.",
    ],
}
