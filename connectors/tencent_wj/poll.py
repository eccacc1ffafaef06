"""Polling a 腾讯问卷 survey: the answer list after ``last_answer_id``, page by page.

The cursor is ``{"last_answer_id": N}``. The platform's pages (50 answers) are gathered into
batches of 500, each one :class:`Page` that the poll job stores with its cursor in one
transaction; an empty ``list`` ends the poll.
Answer ids grow with submission and the list is read from the position the platform names,
so an idle poll is one list call (and one token call when this process holds no token).

The list shows answers once: an answer edited later keeps its id and is not listed again; its
``answer.update`` webhook brings the new version (and ``--full`` re-reads every answer).
"""

from __future__ import annotations

from typing import Any

from connectors.base import ConnectorError, Page, SourceSettings
from connectors.tencent_wj.answers import answer_record
from connectors.tencent_wj.api import PER_PAGE
from connectors.tencent_wj.settings import api_of, only_questions, titles_of

# Records stored together (one transaction, one cursor move): ten API pages of 50.
BATCH = 500


def position(cursor: Any) -> int:
    """The answer id a cursor stands after (0: the start)."""
    value = cursor.get("last_answer_id", 0) if isinstance(cursor, dict) else 0
    return value if isinstance(value, int) and value >= 0 else 0


class TencentWjPoller:
    """One poll of one source (opened per poll by the poll job, then closed)."""

    def __init__(
        self,
        settings: SourceSettings,
        per_page: int = PER_PAGE,
        batch: int = BATCH,
        **api_options: Any,
    ) -> None:
        self.name = settings.name
        self.titles = titles_of(settings)
        self.token_field = str(settings.config.get("token_field") or "openid")
        self.only = only_questions(settings.config)
        self.per_page, self.batch = per_page, batch
        self.api = api_of(settings, **api_options)

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.api.calls)

    def close(self) -> None:
        self.api.close()

    def poll(self, cursor: Any, full: bool = False) -> Page:
        """API pages after the cursor until ``batch`` records or an empty list, as one Page:
        stored in one transaction (fewer, larger commits than one per page of 50)."""
        at = 0 if full else position(cursor)
        records = []
        while True:
            items, following, _total = self.api.list_answers(at, self.per_page)
            if not items:
                return Page(records, {"last_answer_id": at}, done=True)
            ids = [
                int(item["answer_id"])
                for item in items
                if isinstance(item, dict) and str(item.get("answer_id", "")).isdigit()
            ]
            after = following if following is not None and following > at else max(ids, default=0)
            if after <= at:
                raise ConnectorError(
                    f"list_answers: {len(items)} answers after {at}, but no position past it"
                )
            records += [
                answer_record(item, self.name, self.titles, self.token_field, self.only)
                for item in items
            ]
            at = after
            if len(records) >= self.batch:
                return Page(records, {"last_answer_id": at}, done=False)


def open_poller(settings: SourceSettings, **options: Any) -> TencentWjPoller:
    return TencentWjPoller(settings, **options)


def describe_cursor(cursor: Any) -> str:
    return f"answers up to id {position(cursor)}"
