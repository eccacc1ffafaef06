"""A fictional county (清河县) for the demo: its units, its townships and its evaluator pool.

Everything here is invented; names are built from common characters so no real person is named.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

COUNTY = "清河县"
TOWNSHIPS = (
    "城关镇", "东坝镇", "石桥镇", "柳河镇", "青山镇", "白马镇", "新桥乡", "杨柳乡", "龙泉镇",
    "双河镇", "高坪乡", "马庄乡", "凤凰镇", "金沙镇", "桃源乡", "兴隆镇", "平安乡", "永安镇",
)  # fmt: skip

# (system, code prefix, county-level sections, grassroots unit suffix or None, grassroots count)
SYSTEMS = (
    (
        "法院", "FY",
        ("立案庭", "刑事审判庭", "民事审判第一庭", "民事审判第二庭", "行政审判庭", "执行局",
         "审判监督庭", "少年家事审判庭", "诉讼服务中心", "司法警察大队", "执行指挥中心"),
        "人民法庭", 9,
    ),
    (
        "检察院", "JC",
        ("第一检察部", "第二检察部", "第三检察部", "第四检察部", "第五检察部", "控告申诉检察部",
         "案件管理中心", "未成年人检察办公室", "公益诉讼检察部", "刑事执行检察部", "综合业务部",
         "检察技术信息中心"),
        "检察室", 4,
    ),
    (
        "公安局", "GA",
        ("治安管理大队", "刑事侦查大队", "交通警察大队", "出入境管理大队", "户政管理大队",
         "经济犯罪侦查大队", "禁毒大队", "网络安全保卫大队", "巡特警大队", "指挥中心", "法制大队",
         "看守所", "食品药品环境犯罪侦查大队", "警务督察大队", "拘留所"),
        "派出所", 18,
    ),
    (
        "司法局", "SF",
        ("公共法律服务中心", "法律援助中心", "社区矫正管理局", "人民调解科", "普法与依法治理科",
         "行政执法协调监督科", "律师公证管理科", "公证处", "基层工作科", "法治督察科", "劳动人事争议仲裁院"),
        "司法所", 18,
    ),
)  # fmt: skip

INSTITUTIONS = {
    "法院": "县人民法院",
    "检察院": "县人民检察院",
    "公安局": "县公安局",
    "司法局": "县司法局",
}

# Five groups of about 300 members, as in the county's rules (docs/rules.md, "The practice").
GROUPS = (
    ("人大代表", 95),
    ("政协委员", 75),
    ("乡镇政法委员", 18),
    ("乡村干部", 70),
    ("市场主体代表", 42),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "建国志强秀英桂兰海燕明华丽娟文军红梅晓东春生玉珍国庆德胜永福雪梅立新家豪子涵思远雨欣浩然宏伟淑芬振华佳怡俊杰慧敏金凤长青"


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    system: str
    kind: str


@dataclass(frozen=True)
class DemoMember:
    id: str
    name: str
    group: str
    township: str
    conflicts: tuple[str, ...]


def county_units() -> list[DemoUnit]:
    """The 98 evaluated units: county-level sections plus grassroots units per township."""
    units = []
    for system, prefix, sections, grassroots, count in SYSTEMS:
        institution = INSTITUTIONS[system]
        for i, section in enumerate(sections, start=1):
            units.append(
                DemoUnit(f"{prefix}-{i:02d}", f"{institution}{section}", system, "重点股室")
            )
        for i, town in enumerate(TOWNSHIPS[:count], start=1):
            units.append(DemoUnit(f"{prefix}-J{i:02d}", f"{town}{grassroots}", system, "基层单位"))
    return units


def _person(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
        if rng.random() < 0.25:
            name = name[:2]
        if name not in taken:
            taken.add(name)
            return name


def county_pool(rng: random.Random, units: list[DemoUnit]) -> list[DemoMember]:
    """About 300 members in five groups; some have conflicts (回避) with units."""
    by_town = {t: [u.code for u in units if u.name.startswith(t)] for t in TOWNSHIPS}
    taken: set[str] = set()
    members = []
    number = 0
    for group, size in GROUPS:
        for i in range(size):
            number += 1
            township = TOWNSHIPS[i % len(TOWNSHIPS)]
            conflicts: tuple[str, ...] = ()
            if group == "乡镇政法委员":
                # A township's political-legal member works with its own police station and
                # justice office every day: they are recused from scoring them.
                conflicts = tuple(c for c in by_town[township] if c.startswith(("GA", "SF")))
            elif rng.random() < 0.05:
                conflicts = (rng.choice(units).code,)
            members.append(
                DemoMember(f"P{number:04d}", _person(rng, taken), group, township, conflicts)
            )
    return members
