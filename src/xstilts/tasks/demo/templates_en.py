"""English templates. Syntax (all languages): {slot} or {slot:form}; [masculine|feminine]
agrees with the person in {per}. English only: word/TAG fixes the POS tag of an ambiguous word.
"""

FRAMES = {
    "found": [
        "{per}, {role:a} from {city}, founded {org} in {year}.",
        "In {year}, {per}, {role:a} from {city}, founded {org}.",
        "{org} was founded in {year} by {per}, {role:a} originally from {city}.",
        "Born in {city}, {per} worked as/ADP {role:a} before/SCONJ founding {org} in {year}.",
        "{per} comes from {city}; [he|she] is {role:a} and founded {org} in {year}.",
    ],
    "join": [
        "{per}, {role:a} from {city}, joined {org} in {year}.",
        "In {year}, {per} joined {org} as/ADP {role:a}; [he|she] comes from {city}.",
        "{org} hired {per}, {role:a} from {city}, in {year}.",
        "{per} is from {city} and has/AUX worked for {org} as/ADP {role:a} since {year}.",
    ],
    "work": [
        "{per} works as/ADP {role:a} at {org} and lives in {city}.",
        "{per} lives in {city}, where [he|she] works for {org} as/ADP {role:a}.",
        "At {org}, {per} is employed as/ADP {role:a}; [he|she] lives in {city}.",
        "{per} is {role:a} at {org} and has a home in {city}.",
    ],
    "move": [
        "{per} was born in {city} but now lives in {city2}.",
        "Originally from {city}, {per} moved to {city2} several years ago.",
        "{per} grew up in {city} and later settled in {city2}.",
        "Although [he|she] was born in {city}, {per} lives in {city2} today.",
    ],
    "since": [
        "{per} has/AUX been {role:a} at {org} since {year}.",
        "Since {year}, {per} has/AUX worked for {org} as/ADP {role:a}.",
        "{per} started working at {org} in {year} as/ADP {role:a}.",
        "{org} has/AUX employed {per} as/ADP {role:a} since {year}.",
    ],
    "rolelive": [
        "{per} is {role:a} who lives in {city}.",
        "{per} lives in {city} and works as/ADP {role:a}.",
        "In {city}, where [he|she] lives, {per} works as/ADP {role:a}.",
        "{per}, {role:a}, lives in {city}.",
    ],
    "orgfound": [
        "{org} was founded by {per} in {year} and is based in {city}.",
        "{per} founded {org} in {year}; the company is based in {city}.",
        "Based in {city}, {org} was founded in {year} by {per}.",
        "{org}, a company headquartered in {city}, was established by {per} in {year}.",
    ],
    "orgsize": [
        "{org} has {num} employees and is headquartered in {city}.",
        "{org}, which is based in {city}, employs {num} people.",
        "The headquarters of {org} are in {city}, and the company has {num} employees.",
        "With {num} employees, {org} is one of the largest employers in {city}.",
    ],
}

# relation -> (affirmative templates, negated templates)
HYPS = {
    "home": (["{per} is from {city}.", "{per} was born in {city}.", "{per} comes from {city}."],
             ["{per} is not from {city}.", "{per} was not born in {city}."]),
    "lives": (["{per} lives in {city}.", "{per} resides in {city}.",
               "{per} has a home in {city}."],
              ["{per} does not live in {city}.", "{per} does not reside in {city}."]),
    "role": (["{per} is {role:a}.", "{per} works as/ADP {role:a}.",
              "{per} is employed as/ADP {role:a}."],
             ["{per} is not {role:a}.", "{per} does not work as/ADP {role:a}."]),
    "org_join": (["{per} works for {org}.", "{per} is employed by {org}.",
                  "{per} is on the staff of {org}."],
                 ["{per} does not work for {org}.", "{per} is not employed by {org}."]),
    "org_found": (["{per} founded {org}.", "{org} was founded by {per}.",
                   "{per} is the founder of {org}."],
                  ["{per} did not found {org}.", "{org} was not founded by {per}."]),
    "year_join": (["{per} joined {org} in {year}.", "{per} has/AUX worked for {org} since {year}.",
                   "{per} started at {org} in {year}."],
                  ["{per} did not join {org} in {year}.",
                   "{per} did not start working at {org} in {year}."]),
    "year_found": (["{per} founded {org} in {year}.", "{org} was founded by {per} in {year}.",
                    "{per} established {org} in {year}."],
                   ["{per} did not found {org} in {year}.",
                    "{org} was not founded by {per} in {year}."]),
    "hq": (["{org} is based in {city}.", "{org} is headquartered in {city}.",
            "The headquarters of {org} are in {city}."],
           ["{org} is not based in {city}.", "The headquarters of {org} are not in {city}."]),
    "staff": (["{org} has {num} employees.", "{org} employs {num} people.",
               "{num} people work for {org}."],
              ["{org} does not have {num} employees.", "{org} does not employ {num} people."]),
}

QUESTIONS = {
    "home": ["Where is {per} from?", "Which city does {per} come from?",
             "In which city was {per} born?"],
    "lives": ["Where does {per} live?", "In which city does {per} live?",
              "Where does {per} live now?"],
    "role": ["What is the profession of {per}?", "What does {per} do for a living?",
             "What job does {per} have?"],
    "employer": ["Which company does {per} work for?", "Where is {per} employed?",
                 "Which organisation employs {per}?"],
    "founded_org": ["Which company did {per} found?", "Which company was founded by {per}?",
                    "What is the name of the company that {per} founded?"],
    "founder": ["Who founded {org}?", "Who is the founder of {org}?",
                "By whom was {org} founded?"],
    "join_year": ["When did {per} join {org}?", "In which year did {per} start working at {org}?",
                  "Since when has {per} worked for {org}?"],
    "found_year": ["When was {org} founded?", "In which year was {org} founded?",
                   "In what year was {org} established?"],
    "hq": ["Where is {org} based?", "In which city is {org} headquartered?",
           "Where are the headquarters of {org}?"],
    "staff": ["How many employees does {org} have?", "How many people work for {org}?",
              "How many people does {org} employ?"],
}

# Aligned across languages: variant i says the same thing everywhere (see world.EVENT_SLOTS).
EVENTS = {
    "business": [
        "{org} reported a profit of {num} million euros in {year}.",
        "{org} will open a new factory for {product} in {city} next year.",
        "Shares of {org} rose by {pct} percent after/SCONJ the company agreed to/PART "
        "buy {org2}.",
        "{per}, the chief executive of {org}, announced plans to/PART sell {product} in "
        "{country}.",
        "{org} and {org2} signed a supply contract worth {num} million euros.",
    ],
    "sports": [
        "{club} defeated {club2} in {city} and moved to the top of the league.",
        "{per} won the marathon in {city} with a lead of {small} minutes.",
        "{per} scored {small} goals for {club} this season.",
        "The coach of {club}, {per}, was dismissed after a heavy defeat against {club2}.",
        "{country} will host the football world championship in {year}.",
    ],
    "science": [
        "Researchers at {org} published a study on {field}.",
        "{per}, a biologist from {city}, discovered a new species of frog in {country}.",
        "A team led by {per} developed a new method to/PART study/VERB {field}.",
        "A telescope near {city} observed a distant galaxy for {small} months.",
        "{per} received an international award in {year} for research on {field}.",
    ],
    "politics": [
        "The parliament of {country} passed a new law on {policy}.",
        "{per} was elected mayor of {city} with {pct} percent of the vote.",
        "{per} and {per2} met in {city} to/PART discuss {policy}.",
        "Thousands of people protested in {city} against the reform of {policy}.",
        "Minister {per} promised to/PART reform/VERB {policy} before the elections in "
        "{year}.",
    ],
}

# Coarse (UD) part of speech of every English word the templates and terms use.
_POS_WORDS = {
    "ADJ": "several heavy distant new international largest chief next worth electric solar "
           "black quantum public",
    "ADP": "in at from of for with by since to on after against before near as up",
    "ADV": "originally now later ago where",
    "AUX": "is was are been will does did",
    "CCONJ": "and but",
    "DET": "a an the this",
    "NOUN": "employees people company headquarters employers home staff founder profit "
            "million euros factory year shares percent plans supply contract top league "
            "marathon lead minutes goals season coach defeat football world championship "
            "researchers study biologist species frog team method telescope galaxy months "
            "award research parliament law mayor vote thousands reform elections executive "
            "today years climate change batteries proteins holes vaccines computers coral "
            "reefs sleep cars smartphones panels coffee steel medicines software taxes "
            "education healthcare pensions immigration transport minister",
    "NUM": "one",
    "PART": "not",
    "PRON": "he she who which",
    "SCONJ": "although",
    "VERB": "founded founding joined comes hired worked works lives employed born moved grew "
            "settled started working based established employs live reside resides work found "
            "join start have has employ reported open rose agreed buy announced sell signed defeated "
            "won scored dismissed host published discovered led developed observed received "
            "passed elected met discuss protested promised headquartered",
}
POS = {w: tag for tag, words in _POS_WORDS.items() for w in words.split()}
