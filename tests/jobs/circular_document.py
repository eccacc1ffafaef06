"""A realistic monthly circular document (98 units in 4 systems, vetoes, comments with markup
and personal numbers) for the circular tests, and poppler to read a PDF back."""

from __future__ import annotations

import copy
import random
import re
import subprocess
from pathlib import Path
from typing import Any

TOWNS = [
    "城关", "河口", "石门", "青山", "龙潭", "白沙", "枫林", "桃源", "杨柳", "金鸡", "马坪",
    "双江", "黄土岭", "新塘", "清水", "高峰", "柏树垭", "东湖", "西岭", "南山", "北港",
]  # fmt: skip

SYSTEM_UNITS = {
    "法院": ("FY", "县人民法院", [
        "立案庭", "刑事审判庭", "民事审判第一庭", "民事审判第二庭", "行政审判庭", "审判监督庭",
        "执行局", "执行指挥中心", "少年家事审判庭", "诉讼服务中心", "司法警察大队", "办公室",
        "政治部", *(f"{t}人民法庭" for t in TOWNS[:7])]),
    "检察院": ("JC", "县人民检察院", [
        *(f"第{n}检察部" for n in "一二三四五六七八"), "控告申诉检察部", "案件管理中心",
        "检务督察部", "办公室", "政治部", "司法警察大队", "驻看守所检察室"]),
    "公安局": ("GA", "县公安局", [
        "刑事侦查大队", "治安管理大队", "交通警察大队", "经济犯罪侦查大队", "禁毒大队",
        "网络安全保卫大队", "出入境管理大队", "巡特警大队", "法制大队", "指挥中心", "看守所",
        "拘留所", "户政管理大队", *(f"{t}派出所" for t in TOWNS[:20])]),
    "司法局": ("SF", "县司法局", [
        "公共法律服务中心", "社区矫正管理局", "人民参与和促进法治股", "律师工作股",
        "普法与依法治理股", "行政执法协调监督股", "法律援助中心", "公证处", "办公室",
        *(f"{t}司法所" for t in TOWNS)]),
}  # fmt: skip

RULES = {
    "scale": {"满意": 100, "基本满意": 70, "不满意": 30},
    "no_vote": ["不了解"],
    "numeric_range": [0, 100],
    "numeric_factor": 1,
    "criteria": [{"name": "总体", "weight": 1}],
    "min_coverage": "0.5",
    "quorum": "2/3",
    "min_votes": 10,
    "trim_min_n": 7,
    "trim": 1,
    "group_weights": {},
    "top": 10,
    "bottom": 5,
    "cross_system": "raw",
    "monthly_weight": "0.7",
    "satisfied_label": "满意",
    "dissatisfied_label": "不满意",
}

XSS = "<script>alert(1)</script>立案窗口排队时间长"
PHONE = "13812345678"
LANDLINE = "0731-12345678"
ID_NUMBER = "43010219900101123X"
TWO_COMMENTS = ["仅两条意见之甲：窗口工作人员态度一般", "仅两条意见之乙：电话无人接听"]
VETO_REASON = "民警违规插手经济纠纷，造成恶劣社会影响，经县纪委监委查实"


def _ranked(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order of docs/rules.md: score, 满意 share, 不满意 share, untrimmed mean, votes; vetoed last."""
    return sorted(
        units,
        key=lambda u: (
            u["status"] == "vetoed",
            -u["score"],
            -u["satisfied_share"],
            u["dissatisfied_share"],
            -u["mean"],
            -u["votes"],
        ),
    )


def make_doc(valid: bool = True, seed: int = 20261103) -> dict[str, Any]:
    """A realistic monthly round: 98 units in 4 systems, 2 vetoes, 3 insufficient units."""
    rng = random.Random(seed)
    units = []
    for system, (prefix, org, sections) in SYSTEM_UNITS.items():
        for i, section in enumerate(sections, start=1):
            votes = rng.randint(78, 93)
            sat = round(rng.uniform(0.45, 0.95), 4)
            score = round(rng.uniform(68, 97), 2)
            units.append(
                {
                    "code": f"{prefix}-{i:02d}",
                    "name": f"{org}{section}",
                    "system": system,
                    "score": score,
                    "votes": votes,
                    "status": "ranked",
                    "rank_in_system": None,
                    "rank_overall": None,
                    "satisfied_share": sat,
                    "dissatisfied_share": round(rng.uniform(0, 1 - sat), 4),
                    "mean": round(score + rng.uniform(-0.8, 0.8), 2),
                }
            )
    assert len(units) == 98
    by_code = {u["code"]: u for u in units}
    for code in ("SF-21", "SF-25", "JC-15"):
        by_code[code].update(status="insufficient", votes=rng.randint(4, 9))
    by_code["SF-30"].update(status="insufficient", votes=0, score=None, mean=None,
                            satisfied_share=None, dissatisfied_share=None)  # fmt: skip
    for code in ("GA-14", "FY-08"):
        by_code[code]["status"] = "vetoed"

    rankable = [u for u in units if u["status"] != "insufficient"]
    for rank, u in enumerate(_ranked(rankable), start=1):
        u["rank_overall"] = rank
    for system in SYSTEM_UNITS:
        members = [u for u in rankable if u["system"] == system]
        for rank, u in enumerate(_ranked(members), start=1):
            u["rank_in_system"] = rank
    order = _ranked(rankable)
    top = [u["code"] for u in order if u["status"] != "vetoed"][:10]
    bottom = [u["code"] for u in reversed(order)][:5]

    seats = 100
    valid_ballots = 93 if valid else 61
    return {
        "round": {"id": "2026-10", "kind": "monthly", "period": "2026年10月",
                  "opens_at": "2026-10-01T00:00:00+08:00", "closes_at": "2026-10-31T18:00:00+08:00"},
        "issuer": {"body": "清河县委政法委员会", "doc_number": "清政法评〔2026〕10号",
                   "date": "2026年11月3日", "title": "关于2026年10月全县政法系统民主评议结果的通报",
                   "recipients": "各政法单位：", "cc": "县委、县人大常委会、县政府、县政协"},
        "ranking": {"round": "2026-10", "kind": "monthly", "valid": valid,
                    "participation": {"seats": seats, "ballots": 96, "valid_ballots": valid_ballots},
                    "units": units, "top": top, "bottom": bottom, "vetoed": ["FY-08", "GA-14"]},
        "systems": list(SYSTEM_UNITS),
        "vetoes": [
            {"unit": "GA-14", "reason": VETO_REASON, "by": "县委政法委", "at": "2026-10-30T10:00:00+08:00"},
            {"unit": "FY-08", "reason": "执行案款未按规定及时发放，群众多次信访", "by": None,
             "at": "2026-10-28T15:30:00+08:00"},
        ],
        "comments": {
            "FY-01": [XSS, f"联系电话{PHONE}一直打不通", f"身份证号{ID_NUMBER}被登记错误",
                      f"办公电话{LANDLINE}无人接听", "希望延长周末立案时间"],
            "GA-15": ["出警速度快，值得表扬", "户籍窗口材料要求不一致", "夜间值班电话无人接"],
            "SF-10": ["调解及时", "法律援助宣传不够", "司法所人员偏少，工作量大", "  "],
            "JC-01": TWO_COMMENTS,
        },
        "rules": copy.deepcopy(RULES),
        "audit_hash": "9f2c1e7a4b8d3f60e5a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607",
        "generated_at": "2026-11-03T09:00:00+08:00",
    }  # fmt: skip


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def without_spaces(text: str) -> str:
    """Text without whitespace: table cells and wrapped lines are spread out by ``-layout``."""
    return re.sub(r"\s+", "", text)
