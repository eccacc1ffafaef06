"""The circular prints only rules the ranking applies (issue #9, item 20).

A quarterly or half-year round is scored from its own ballots, like a month: until the code
combines it with the months (issue #10), no combination formula may be printed.
"""

from __future__ import annotations

import pytest

from jobs.circulars.wording import describe_rules
from service.rules import Rules


@pytest.mark.parametrize("kind", ["monthly", "quarterly", "semiannual"])
def test_no_summary_formula_is_printed_while_none_is_computed(kind: str) -> None:
    text = "".join(describe_rules(Rules().as_dict(), kind))
    assert "汇总" not in text and "领导评分" not in text and "各月" not in text
    # The rules it does apply are there, whatever the kind.
    assert "一票否决" in text and "前十名" in text
