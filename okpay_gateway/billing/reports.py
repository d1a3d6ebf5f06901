"""What a renewal run decided: one :class:`Decision` per subscription, run totals.

Decisions of a batch are written in one statement (:func:`record_decisions`).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from okpay_gateway.enums import DecisionOutcome
from okpay_gateway.models import ChargeAttempt, RenewalDecision, RenewalRun

__all__ = [
    "Decision",
    "RunReport",
    "group_counts",
    "record_decisions",
    "summarize_run",
]


@dataclass(frozen=True, slots=True)
class Decision:
    """What happened to one subscription in one run."""

    subscription_id: int
    period_index: int
    outcome: str
    reason: str
    amount: Decimal
    currency: str
    # The period's charge attempt, when the engine has it at hand (saves a
    # lookup when the decision is recorded); not part of the decision itself.
    attempt_id: int | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class RunReport:
    """Totals of a run; ``ok`` is False when anything is unknown or failed."""

    run_id: int | None = None
    as_of: datetime | None = None
    dry_run: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    declined: Counter[str] = field(default_factory=Counter)
    charged_amounts: dict[str, Decimal] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, decision: Decision) -> None:
        with self._lock:
            self.outcomes[str(decision.outcome)] += 1
            if decision.outcome == DecisionOutcome.SKIPPED:
                self.skipped[str(decision.reason)] += 1
            elif decision.outcome == DecisionOutcome.DECLINED:
                self.declined[str(decision.reason)] += 1
            elif decision.outcome == DecisionOutcome.CHARGED:
                self.charged_amounts[decision.currency] = (
                    self.charged_amounts.get(decision.currency, Decimal("0.00"))
                    + decision.amount
                )

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def ok(self) -> bool:
        return not (
            self.outcomes[DecisionOutcome.UNKNOWN]
            or self.outcomes[DecisionOutcome.FAILED]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "dry_run": self.dry_run,
            "outcomes": dict(self.outcomes),
            "skipped": dict(self.skipped),
            "declined": dict(self.declined),
            "charged_amounts": {k: str(v) for k, v in self.charged_amounts.items()},
            "resolved": dict(self.resolved),
        }


def record_decisions(
    decisions: Iterable[Decision], run: RenewalRun | None, now: datetime
) -> None:
    """Write a batch's decisions in one statement.

    Within a run a subscription is decided once, but a redelivered Celery
    task may decide it again: the row is then updated (``ON CONFLICT``).
    """
    decisions = list(decisions)
    missing = [d for d in decisions if d.attempt_id is None]
    attempt_ids: dict[tuple[int, int], int] = {}
    if missing:
        attempt_ids = {
            (sub, period): pk
            for pk, sub, period in ChargeAttempt.objects.filter(
                subscription_id__in={d.subscription_id for d in missing}
            ).values_list("pk", "subscription_id", "period_index")
        }
    rows = [
        RenewalDecision(
            run=run,
            subscription_id=d.subscription_id,
            period_index=d.period_index,
            attempt_id=(
                d.attempt_id
                if d.attempt_id is not None
                else attempt_ids.get((d.subscription_id, d.period_index))
            ),
            outcome=d.outcome,
            reason=d.reason[:60],
            amount=d.amount,
            currency=d.currency,
            decided_at=now,
        )
        for d in decisions
    ]
    if not rows:
        return
    if run is None:
        RenewalDecision.objects.bulk_create(rows)
        return
    RenewalDecision.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["run", "subscription"],
        update_fields=[
            "period_index",
            "attempt",
            "outcome",
            "reason",
            "amount",
            "currency",
            "decided_at",
        ],
    )


def summarize_run(run: RenewalRun) -> RunReport:
    """A run's totals from its recorded decisions (works for fanned-out runs)."""
    report = RunReport(run_id=run.pk, as_of=run.as_of)
    for row in run.decisions.values(
        "subscription_id", "period_index", "outcome", "reason", "amount", "currency"
    ).iterator(chunk_size=2000):
        report.add(Decision(**row))
    return report


def group_counts(decisions: list[Decision]) -> dict[str, dict[str, int]]:
    """Decisions grouped by outcome and reason (summary tables)."""
    grouped: dict[str, dict[str, int]] = defaultdict(dict)
    for decision in decisions:
        bucket = grouped[decision.outcome]
        bucket[decision.reason] = bucket.get(decision.reason, 0) + 1
    return dict(grouped)
