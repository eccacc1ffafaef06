"""Ranking and circular jobs of the service, coalesced and driven by the database's work table.

Many new ballots make one recompute: the ingest job asks for a ranking (a timestamp in
``round_work``) and enqueues this job under a pending flag; the job clears the flag first, notes
the request it serves, ranks, and if another request came in meanwhile enqueues itself again —
so none is lost in between. A closed round gets its circular rendered after each ranking, on
the render queue, so rendering never holds up intake.

A round's first circular is published by these jobs; a later version never is. Once readers
have version 1, a ranking that changes after it (a late veto, say) is reported — in the log and
as ``circular_outdated`` in the API — and staff re-issue it with a reason
(``pingyi circular ROUND --reissue REASON``).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

from jobs.circulars.publish import Published, render_snapshot
from jobs.progress import set_progress
from jobs.ranking import ConstituentOpen, NothingToRank, rank_round
from jobs.reliability.report import reliability_of
from service.context import Context
from service.metrics import JOB_SECONDS
from service.queue import NOTIFY, RANKING, RENDER
from service.store.engine import session_scope
from service.store.outbox import emit
from service.store.results import (
    check_reissue,
    circular_outdated,
    get_snapshot,
    latest_circular,
    latest_snapshot,
    same_numbers,
)
from service.store.rounds import find_round, round_event
from service.store.work import (
    closed_at,
    get_work,
    mark_ranked,
    mark_rendered,
    pending_sources,
    polled_sources,
    ranking_request,
)

logger = logging.getLogger(__name__)


def _announce(
    session: Session, round_id: str, published: Published, reason: str | None = None
) -> list[int]:
    """The ``circular.published`` event of a new version (with the re-issue's reason, if any);
    the outbox ids to enqueue once the transaction commits."""
    event = {
        **round_event(find_round(session, round_id)),
        "version": published.version,
        "sha256": published.pdf_sha256,
        "path": f"/api/v1/rounds/{round_id}/circular.pdf",
    }
    if reason is not None:
        event["reason"] = reason
    return emit(session, "circular.published", [event])


def close_round_job(round_id: str) -> dict:
    """After ``POST …/close``: take in the deliveries already received, rank, then render — in
    one job whose progress the API reports. Deliveries stored before the close but not yet
    ingested must be in the circular, so the inbox is drained first."""
    from jobs.inbox import ingest_inbox
    from jobs.poll import poll_source_job

    ctx = Context.for_job()
    with session_scope(ctx.engine) as session:
        sources = pending_sources(session, round_id)
        polled = polled_sources(session, round_id)
        closed = closed_at(session, find_round(session, round_id))
    for i, source in enumerate(sources):
        set_progress(f"ingesting {source}", 0.05 * (i + 1) / len(sources), round_id)
        ingest_inbox(source)
    for source in polled:  # a last poll: what the platform held at the close still counts
        set_progress(f"polling {source}", 0.08, round_id)
        poll_source_job(source, closed.isoformat() if closed else None)
    ranked = rank_round_job(round_id, render_next=False)
    rendered = render_circular_job(round_id)
    return {**ranked, **rendered}


def rank_round_job(round_id: str, render_next: bool = True) -> dict:
    """Recompute the round's ranking; render the circular next if the round is closed."""
    started = time.perf_counter()
    ctx = Context.for_job()
    ctx.queue.clear_pending(f"rank:{round_id}")
    set_progress("ranking", 0.1, round_id)
    with session_scope(ctx.engine) as session:
        served = ranking_request(session, round_id)
        try:
            ranking, snapshot = rank_round(session, round_id, ctx.config.rules, actor="worker")
        except (NothingToRank, ConstituentOpen) as exc:
            # A veto on a round nobody has answered yet, or a leader's ballot in a quarter whose
            # months are still open: nothing to compute yet, not a failure to retry.
            logger.info("%s", exc)
            mark_ranked(session, round_id, served, None)
            set_progress(f"nothing ranked: {exc}", 1.0, round_id)
            return {"round": round_id, "snapshot": None, "ranked": False}
        again = mark_ranked(session, round_id, served, snapshot.id)
        rnd = find_round(session, round_id)
        closed = rnd.status == "closed"
        outbox = emit(
            session,
            "ranking.computed",
            [
                {
                    **round_event(rnd),
                    "valid": ranking.valid,
                    "participation": snapshot.result["participation"],
                }
            ],
        )
        snapshot_id = snapshot.id
    for event_id in outbox:
        ctx.queue.enqueue(NOTIFY, "jobs.notify.deliver", event_id)
    if again:
        ctx.queue.enqueue(
            RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}"
        )
    JOB_SECONDS.labels(job="ranking").observe(time.perf_counter() - started)
    set_progress("ranked", 0.5, round_id)
    if closed and render_next:
        if ctx.queue.inline:
            render_circular_job(round_id)
        else:
            ctx.queue.enqueue(
                RENDER, "jobs.rounds.render_circular_job", round_id, coalesce=f"render:{round_id}"
            )
    logger.info("ranked round %s (snapshot %d)", round_id, snapshot_id)
    return {"round": round_id, "snapshot": snapshot_id}


def render_circular_job(round_id: str) -> dict:
    """Render the circular of the round's latest ranking, unless it is already rendered."""
    started = time.perf_counter()
    ctx = Context.for_job()
    ctx.queue.clear_pending(f"render:{round_id}")
    set_progress("rendering", 0.6, round_id)
    with session_scope(ctx.engine) as session:
        snapshot = latest_snapshot(session, round_id)
        work = get_work(session, round_id)
        if snapshot is not None:
            # How sure the ranking is (docs/reliability.md), for the API and the circular: made
            # once per snapshot, whether or not a new version of the circular follows.
            reliability_of(session, snapshot, ctx.config.rules)
        if snapshot is None or (work is not None and work.circular_ranking_id == snapshot.id):
            return {"round": round_id, "rendered": False}
        rendered = (
            work and work.circular_ranking_id and get_snapshot(session, work.circular_ranking_id)
        )
        if rendered is not None and rendered and same_numbers(rendered, snapshot):
            # Nothing a reader could see has changed (e.g. only late, rejected ballots came in):
            # keep the published version instead of issuing an identical new one.
            mark_rendered(session, round_id, snapshot.id)
            return {"round": round_id, "rendered": False}
        published_before = latest_circular(session, round_id, "pdf")
        if published_before is not None:
            # Readers have a version already: replacing it is staff's decision, with a reason.
            mark_rendered(session, round_id, snapshot.id)
            if not circular_outdated(session, round_id):  # e.g. ranked again at the close
                return {"round": round_id, "rendered": False}
            logger.warning(
                "round %s: the ranking changed after circular v%d was published; it is not "
                "replaced (re-issue it with: pingyi circular %s --reissue REASON)",
                round_id,
                published_before.version,
                round_id,
            )
            set_progress("circular outdated: re-issue it with a reason", 1.0, round_id)
            return {"round": round_id, "rendered": False, "outdated": True}
        published = render_snapshot(session, round_id, snapshot, ctx.config)
        mark_rendered(session, round_id, snapshot.id)
        outbox = _announce(session, round_id, published)
    for event_id in outbox:
        ctx.queue.enqueue(NOTIFY, "jobs.notify.deliver", event_id)
    JOB_SECONDS.labels(job="circular").observe(time.perf_counter() - started)
    set_progress("published", 1.0, round_id)
    logger.info("published circular v%d of round %s", published.version, round_id)
    return {"round": round_id, "version": published.version}


def reissue_circular_job(round_id: str, reason: str) -> dict:
    """Staff re-issue a published circular through the API, with a reason: rank again (so the
    new version is of the ballots and vetoes as they are now, and the work table knows it),
    render, store version n+1, which prints the reason, and tell subscribers. The audit log
    names the API as the actor."""
    started = time.perf_counter()
    ctx = Context.for_job()
    set_progress("re-issuing", 0.3, round_id)
    with session_scope(ctx.engine) as session:
        check_reissue(session, round_id, reason)  # refused before the cost of ranking
        served = ranking_request(session, round_id)
        _, snapshot = rank_round(session, round_id, ctx.config.rules, actor="api")
        again = mark_ranked(session, round_id, served, snapshot.id)
        published = render_snapshot(
            session, round_id, snapshot, ctx.config, reason=reason, actor="api"
        )
        mark_rendered(session, round_id, snapshot.id)
        outbox = _announce(session, round_id, published, reason)
    for event_id in outbox:
        ctx.queue.enqueue(NOTIFY, "jobs.notify.deliver", event_id)
    if again:
        ctx.queue.enqueue(
            RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}"
        )
    JOB_SECONDS.labels(job="circular").observe(time.perf_counter() - started)
    set_progress("published", 1.0, round_id)
    logger.info("re-issued circular of round %s as v%d", round_id, published.version)
    return {"round": round_id, "version": published.version}
