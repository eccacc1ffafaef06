"""Marshmallow schemas of the API's bodies; the OpenAPI document is generated from them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "HTTP reason"})
    message = fields.String(required=True, metadata={"description": "What is wrong, for people"})


class ParticipationSchema(Schema):
    seats = fields.Integer(required=True)
    ballots = fields.Integer(
        required=True, metadata={"description": "seats with an accepted ballot"}
    )
    valid_ballots = fields.Integer(required=True)


class UncertaintySchema(Schema):
    rank_overall = fields.List(
        fields.Integer(), allow_none=True, metadata={"description": "90% interval, inclusive"}
    )
    rank_in_system = fields.List(fields.Integer(), allow_none=True)
    p_bottom = fields.Float(metadata={"description": "P(in the bottom list), bootstrap"})
    adjusted_score = fields.Float(
        allow_none=True, metadata={"description": "each evaluator's leniency taken out"}
    )


class BootstrapSchema(Schema):
    b = fields.Integer()
    seed = fields.String(metadata={"description": "what seeded it: the draw seed or the round id"})
    level = fields.Float()


class RankedUnitSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    system = fields.String(required=True)
    score = fields.Float(allow_none=True, metadata={"description": "published, 2 decimals"})
    votes = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["ranked", "insufficient", "vetoed"])
    )
    rank_in_system = fields.Integer(allow_none=True)
    rank_overall = fields.Integer(allow_none=True)
    mean = fields.Float(allow_none=True, metadata={"description": "untrimmed mean, 2 decimals"})
    satisfied_share = fields.Float(allow_none=True)
    dissatisfied_share = fields.Float(allow_none=True)
    uncertainty = fields.Nested(
        UncertaintySchema, allow_none=True, metadata={"description": "docs/reliability.md"}
    )
    parts = fields.Dict(metadata={"description": "a summary round's constituents, M and L"})


class RankingSchema(Schema):
    round = fields.String(required=True)
    kind = fields.String(required=True)
    valid = fields.Boolean(required=True, metadata={"description": "quorum reached"})
    participation = fields.Nested(ParticipationSchema, required=True)
    units = fields.List(fields.Nested(RankedUnitSchema), required=True)
    top = fields.List(fields.String(), required=True)
    bottom = fields.List(fields.String(), required=True, metadata={"description": "worst first"})
    vetoed = fields.List(fields.String(), required=True)
    constituents = fields.List(fields.String(), metadata={"description": "a summary round's"})
    bottom_confidence = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.OneOf(["confirmed", "tied"])),
        metadata={"description": "per bottom-list unit, once the reliability report exists"},
    )
    tied_with = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    icc = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    bootstrap = fields.Nested(BootstrapSchema)


class QualityFlagSchema(Schema):
    seat = fields.Integer(required=True)
    evaluator = fields.String(allow_none=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["straight_line", "lenient", "severe", "near_duplicate"]),
    )
    with_ = fields.Integer(data_key="with", allow_none=True)
    detail = fields.String()


class QualitySchema(Schema):
    round = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    flags = fields.List(fields.Nested(QualityFlagSchema))


class ProgressSchema(ParticipationSchema):
    rejected = fields.Integer()
    superseded = fields.Integer()


class RoundLinksSchema(Schema):
    self = fields.String()
    ranking = fields.String()
    circular_pdf = fields.String()
    circular_xlsx = fields.String()


class RoundSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(["monthly", "quarterly", "semiannual"])
    )
    status = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    parts = fields.List(
        fields.String(),
        metadata={"description": "A summary round's constituents (months, or quarters)."},
    )
    waiting_for = fields.List(
        fields.String(),
        metadata={"description": "Constituents still open: the summary is ranked once they close."},
    )
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema)
    circular_version = fields.Integer(allow_none=True)
    circular_outdated = fields.Boolean(
        metadata={
            "description": "The ranking changed after the published circular, which is never "
            "replaced silently: staff may re-issue it with a reason."
        }
    )
    links = fields.Nested(RoundLinksSchema)


class RoundListSchema(Schema):
    rounds = fields.List(fields.Nested(RoundSchema))


class SourceStatusSchema(Schema):
    name = fields.String()
    kind = fields.String()
    round = fields.String()
    last_poll_at = fields.DateTime(allow_none=True)
    last_webhook_at = fields.DateTime(allow_none=True)
    pending_deliveries = fields.Integer()
    failed_deliveries = fields.Integer(
        metadata={"description": "parked after repeated failures: `pingyi inbox list --failed`"}
    )
    last_error = fields.String(allow_none=True)


class StatusRoundSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    parts = fields.List(fields.String(), metadata={"description": "A summary's constituents."})
    waiting_for = fields.List(fields.String(), metadata={"description": "Constituents still open."})
    closes_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema)
    circular_version = fields.Integer(allow_none=True)


class InboxCountsSchema(Schema):
    pending = fields.Integer(required=True)
    failed = fields.Integer(required=True)


def _rejected() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "rejected ballots by kind of reason: round_closed, unknown_token, …"
        },
    )


class RoundFailuresSchema(Schema):
    round = fields.String(required=True)
    inbox = fields.Nested(InboxCountsSchema, required=True)
    rejected = _rejected()


class FailuresSchema(Schema):
    inbox = fields.Nested(InboxCountsSchema, required=True)
    rejected = _rejected()
    rounds = fields.List(fields.Nested(RoundFailuresSchema), required=True)


class StatusSchema(Schema):
    queues = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    workers = fields.Integer(allow_none=True)
    redis = fields.Boolean()
    sources = fields.List(fields.Nested(SourceStatusSchema))
    rounds = fields.List(fields.Nested(StatusRoundSchema))
    failures = fields.Nested(FailuresSchema)


class AcceptedSchema(Schema):
    status = fields.String(required=True)
    round = fields.String()
    job = fields.String(allow_none=True, metadata={"description": "URL of the job's progress"})
    panel = fields.String(metadata={"description": "URL of the drawn panel (admins)"})
    delivery = fields.String()
    message = fields.String()
    version = fields.Integer(metadata={"description": "the circular version published"})


class JobSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    progress = fields.Float(allow_none=True)
    step = fields.String(allow_none=True)
    round = fields.String(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why a failed job failed"})
    enqueued_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)


class VetoSchema(Schema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    by = fields.String(allow_none=True, validate=validate.Length(max=200))
    date = fields.Date(
        allow_none=True,
        metadata={"description": "the decision's date, YYYY-MM-DD; default today in the body's "
                  "time zone; a date after today is refused"},
    )  # fmt: skip


class WithdrawalSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "why the veto is withdrawn (kept in the audit log)"},
    )
    by = fields.String(allow_none=True, validate=validate.Length(max=200))


class ReissueSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "printed in the new version and kept in the audit log"},
    )


class VetoRecordSchema(VetoSchema):
    round = fields.String(required=True)
    date = fields.Date(required=True, metadata={"description": "the decision's date"})


class DrawRequestSchema(Schema):
    seed = fields.String(metadata={"description": "RFC 3797-style seed string, e.g. 9319./2.5.8./"})
    numbers = fields.String(metadata={"description": 'lottery results, sources separated by ";"'})
    seats = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=100_000),
        metadata={"description": "announce and draw in one step"},
    )
    method = fields.String(validate=validate.OneOf(["hmac-sha256-v1", "rfc3797"]))
    force = fields.Boolean(metadata={"description": "redo a drawn round (recorded)"})


class SeatSchema(Schema):
    evaluator = fields.String(required=True)
    group = fields.String(required=True)
    token = fields.String(required=True)


class PanelSchema(Schema):
    round = fields.String(required=True)
    method = fields.String(allow_none=True)
    seed = fields.String(allow_none=True)
    key = fields.String(allow_none=True)
    pool_sha256 = fields.String(allow_none=True)
    seats = fields.List(fields.Nested(SeatSchema), required=True)
    reserve = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class HealthSchema(Schema):
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Boolean())
