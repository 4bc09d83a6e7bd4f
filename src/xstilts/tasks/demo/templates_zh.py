"""Chinese templates (syntax: see templates_en). Spaces mark word boundaries (the tokens of
the tagging tasks); the text itself is written without them.
"""

FRAMES = {
    "found": [
        "{per} 是 来自 {city} 的 {role} ， 于 {year} 年 创立 了 {org} 。",
        "{year} 年 ， 来自 {city} 的 {role} {per} 创立 了 {org} 。",
        "{org} 成立 于 {year} 年 ， 创始人 {per} 是 一名 来自 {city} 的 {role} 。",
        "{per} 出生 于 {city} ， 曾 担任 {role} ， 后 于 {year} 年 创办 了 {org} 。",
    ],
    "join": [
        "来自 {city} 的 {role} {per} 于 {year} 年 加入 了 {org} 。",
        "{year} 年 ， {per} 以 {role} 身份 加入 {org} ； [他|她] 来自 {city} 。",
        "{org} 在 {year} 年 聘请 了 来自 {city} 的 {role} {per} 。",
        "{per} 来自 {city} ， 自 {year} 年 起 在 {org} 担任 {role} 。",
    ],
    "work": [
        "{per} 在 {org} 担任 {role} ， 住在 {city} 。",
        "{per} 住在 {city} ， 在 {org} 从事 {role} 工作 。",
        "在 {org} ， {per} 的 职位 是 {role} ； [他|她] 住在 {city} 。",
        "{per} 是 {org} 的 {role} ， 家 在 {city} 。",
    ],
    "move": [
        "{per} 出生 于 {city} ， 但 现在 住在 {city2} 。",
        "{per} 来自 {city} ， 几 年 前 搬到 了 {city2} 。",
        "{per} 在 {city} 长大 ， 后来 定居 {city2} 。",
        "虽然 {per} 出生 在 {city} ， 但 [他|她] 如今 住在 {city2} 。",
    ],
    "since": [
        "{per} 自 {year} 年 起 在 {org} 担任 {role} 。",
        "从 {year} 年 开始 ， {per} 一直 在 {org} 做 {role} 。",
        "{per} 于 {year} 年 开始 在 {org} 担任 {role} 。",
        "{org} 从 {year} 年 起 聘用 {per} 担任 {role} 。",
    ],
    "rolelive": [
        "{per} 是 一名 住在 {city} 的 {role} 。",
        "{per} 住在 {city} ， 职业 是 {role} 。",
        "在 [他|她] 居住 的 {city} ， {per} 从事 {role} 工作 。",
        "{role} {per} 居住 在 {city} 。",
    ],
    "orgfound": [
        "{org} 由 {per} 于 {year} 年 创立 ， 总部 位于 {city} 。",
        "{per} 在 {year} 年 创办 了 {org} ， 公司 总部 设 在 {city} 。",
        "总部 位于 {city} 的 {org} 由 {per} 创立 于 {year} 年 。",
        "{org} 是 一家 总部 在 {city} 的 公司 ， 由 {per} 于 {year} 年 创建 。",
    ],
    "orgsize": [
        "{org} 拥有 {num} 名 员工 ， 总部 位于 {city} 。",
        "总部 设 在 {city} 的 {org} 雇用 了 {num} 名 员工 。",
        "{org} 的 总部 在 {city} ， 公司 共有 {num} 名 员工 。",
        "{org} 有 {num} 名 员工 ， 是 {city} 最 大 的 雇主 之一 。",
    ],
}

HYPS = {
    "home": (["{per} 来自 {city} 。", "{per} 出生 于 {city} 。", "{per} 是 {city} 人 。"],
             ["{per} 不是 {city} 人 。", "{per} 并非 出生 于 {city} 。"]),
    "lives": (["{per} 住在 {city} 。", "{per} 目前 居住 在 {city} 。", "{per} 定居 在 {city} 。"],
              ["{per} 不 住在 {city} 。", "{per} 并不 居住 在 {city} 。"]),
    "role": (["{per} 是 一名 {role} 。", "{per} 的 职业 是 {role} 。",
              "{per} 从事 {role} 工作 。"],
             ["{per} 不是 {role} 。", "{per} 并不 从事 {role} 工作 。"]),
    "org_join": (["{per} 在 {org} 工作 。", "{per} 是 {org} 的 员工 。", "{per} 就职 于 {org} 。"],
                 ["{per} 不 在 {org} 工作 。", "{per} 并不是 {org} 的 员工 。"]),
    "org_found": (["{per} 创立 了 {org} 。", "{org} 是 由 {per} 创办 的 。",
                   "{per} 是 {org} 的 创始人 。"],
                  ["{per} 没有 创立 {org} 。", "{per} 不是 {org} 的 创始人 。"]),
    "year_join": (["{per} 于 {year} 年 加入 了 {org} 。",
                   "{per} 从 {year} 年 起 在 {org} 工作 。",
                   "{year} 年 ， {per} 开始 在 {org} 工作 。"],
                  ["{per} 并 不是 在 {year} 年 加入 {org} 的 。",
                   "{per} 没有 在 {year} 年 加入 {org} 。"]),
    "year_found": (["{per} 于 {year} 年 创立 了 {org} 。", "{org} 由 {per} 创办 于 {year} 年 。",
                    "{year} 年 ， {per} 创办 了 {org} 。"],
                   ["{per} 并 不是 在 {year} 年 创立 {org} 的 。",
                    "{per} 没有 在 {year} 年 创办 {org} 。"]),
    "hq": (["{org} 的 总部 位于 {city} 。", "{org} 总部 设 在 {city} 。",
            "{org} 是 一家 总部 在 {city} 的 公司 。"],
           ["{org} 的 总部 不 在 {city} 。", "{org} 的 总部 并非 位于 {city} 。"]),
    "staff": (["{org} 有 {num} 名 员工 。", "{org} 雇用 了 {num} 名 员工 。",
               "{org} 共有 员工 {num} 人 。"],
              ["{org} 并 没有 {num} 名 员工 。", "{org} 的 员工 人数 不是 {num} 。"]),
}

QUESTIONS = {
    "home": ["{per} 来自 哪里 ？", "{per} 出生 在 哪个 城市 ？", "{per} 是 哪里 人 ？"],
    "lives": ["{per} 住在 哪里 ？", "{per} 居住 在 哪个 城市 ？", "{per} 现在 住在 哪儿 ？"],
    "role": ["{per} 的 职业 是 什么 ？", "{per} 是 做 什么 工作 的 ？", "{per} 从事 什么 职业 ？"],
    "employer": ["{per} 在 哪家 公司 工作 ？", "{per} 就职 于 哪家 公司 ？",
                 "哪家 公司 雇用 了 {per} ？"],
    "founded_org": ["{per} 创立 了 哪家 公司 ？", "{per} 创办 的 公司 是 哪家 ？",
                    "哪家 公司 是 {per} 创建 的 ？"],
    "founder": ["谁 创立 了 {org} ？", "{org} 的 创始人 是 谁 ？", "{org} 是 由 谁 创办 的 ？"],
    "join_year": ["{per} 是 哪 一 年 加入 {org} 的 ？", "{per} 从 哪 一 年 开始 在 {org} 工作 ？",
                  "{per} 什么 时候 加入 了 {org} ？"],
    "found_year": ["{org} 是 哪 一 年 成立 的 ？", "{org} 成立 于 哪 一 年 ？",
                   "{org} 是 什么 时候 创立 的 ？"],
    "hq": ["{org} 的 总部 在 哪里 ？", "{org} 的 总部 位于 哪个 城市 ？", "{org} 总部 设 在 哪里 ？"],
    "staff": ["{org} 有 多少 名 员工 ？", "{org} 雇用 了 多少 人 ？", "{org} 共有 多少 员工 ？"],
}

EVENTS = {
    "business": [
        "{org} 在 {year} 年 实现 利润 {num} 百万 欧元 。",
        "{org} 明年 将 在 {city} 开设 一家 新 的 {product} 工厂 。",
        "{org} 同意 收购 {org2} 后 ， 其 股价 上涨 了 {pct} % 。",
        "{org} 首席 执行官 {per} 宣布 计划 在 {country} 销售 {product} 。",
        "{org} 与 {org2} 签署 了 一份 价值 {num} 百万 欧元 的 供货 合同 。",
    ],
    "sports": [
        "{club} 在 {city} 击败 了 {club2} ， 升 至 联赛 榜首 。",
        "{per} 在 {city} 马拉松 比赛 中 夺冠 ， 领先 对手 {small} 分钟 。",
        "{per} 本 赛季 为 {club} 打进 了 {small} 个 进球 。",
        "{club} 主教练 {per} 在 惨败 给 {club2} 后 被 解雇 。",
        "{country} 将 于 {year} 年 举办 世界杯 足球赛 。",
    ],
    "science": [
        "{org} 的 研究人员 发表 了 一项 关于 {field} 的 研究 。",
        "来自 {city} 的 生物学家 {per} 在 {country} 发现 了 一种 新 的 青蛙 。",
        "{per} 领导 的 团队 开发 了 一种 研究 {field} 的 新 方法 。",
        "{city} 附近 的 一台 望远镜 对 一个 遥远 的 星系 进行 了 {small} 个 月 的 观测 。",
        "{per} 因 对 {field} 的 研究 于 {year} 年 获得 了 一项 国际 奖项 。",
    ],
    "politics": [
        "{country} 议会 通过 了 一项 关于 {policy} 的 新 法律 。",
        "{per} 以 {pct} % 的 得票率 当选 {city} 市长 。",
        "{per} 和 {per2} 在 {city} 会面 ， 讨论 {policy} 问题 。",
        "{city} 数千 人 举行 抗议 ， 反对 {policy} 改革 。",
        "部长 {per} 承诺 在 {year} 年 选举 前 改革 {policy} 。",
    ],
}
