"""The circular prints only rules the ranking applies (issue #9, item 20).

A quarterly or half-year round is scored from its own ballots, like a month: until the code
combines it with the months (issue #10), no combination formula may be printed.
"""

from __future__ import annotations

import pytest

from jobs.circulars.wording import describe_rules
from service.rules import Rules


def test_a_month_prints_no_summary_formula() -> None:
    text = "".join(describe_rules(Rules().as_dict(), "monthly"))
    assert "领导评分" not in text and "各月" not in text
    assert "一票否决" in text and "前十名" in text


@pytest.mark.parametrize(
    ("kind", "formula"),
    [
        ("quarterly", "季度得分＝各月公布得分的算术平均值（月均分）×70%＋县领导评分×30%"),
        ("semiannual", "半年得分＝两个季度公布得分的算术平均值（季度均分）×70%＋县领导评分×30%"),
    ],
)
def test_a_summary_prints_the_formula_it_computes_with_its_weight(kind: str, formula: str) -> None:
    text = "".join(describe_rules(Rules().as_dict(), kind))
    assert formula in text and "1票即可计分" in text
    # The months' acceptance rules are theirs, not the summary's: not repeated here.
    assert "有效评议表" not in text and "一票否决" in text and "前十名" in text
    other = "".join(describe_rules({**Rules().as_dict(), "monthly_weight": "3/5"}, kind))
    assert "均分）×60%＋县领导评分×40%" in other
