"""Tests for okpay_gateway.billing.dunning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from okpay_gateway.billing.dunning import (
    DunningAction,
    DunningLadder,
    DunningStep,
    cancel_step,
    next_step,
)
from okpay_gateway.billing.states import (
    SubscriptionEvent,
    SubscriptionStatus,
    can_transition,
    transition,
)

DAY = timedelta(days=1)
FAILED_AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def test_dunning_ladder_defaults_are_1_3_5_days_then_a_week():
    """The default ladder retries after 1, 3, 5 days, suspends at once, cancels after 7."""
    ladder = DunningLadder()
    assert ladder.retry_after == (DAY, 3 * DAY, 5 * DAY)
    assert ladder.suspend_after == timedelta(0)
    assert ladder.cancel_after == 7 * DAY
    assert ladder.retries == 3


@pytest.mark.parametrize(("failures", "delay"), [(1, DAY), (2, 3 * DAY), (3, 5 * DAY)])
def test_next_step_retries_remaining_gives_retry(failures, delay):
    """While retries remain, failure n is retried retry_after[n-1] later, past due."""
    step = next_step(DunningLadder(), failures, FAILED_AT)
    assert step == DunningStep(
        action=DunningAction.RETRY,
        at=FAILED_AT + delay,
        status=SubscriptionStatus.PAST_DUE,
    )
    assert step.event is None


@pytest.mark.parametrize("failures", [4, 5, 40])
def test_next_step_retries_used_up_gives_suspend(failures):
    """Once the retries are used up the next step is to suspend, at once by default."""
    step = next_step(DunningLadder(), failures, FAILED_AT)
    assert step == DunningStep(
        action=DunningAction.SUSPEND,
        at=FAILED_AT,
        status=SubscriptionStatus.SUSPENDED,
    )
    assert step.event is SubscriptionEvent.SUSPEND


def test_next_step_suspend_after_delays_the_suspension():
    """suspend_after postpones the suspension after the last failed retry."""
    ladder = DunningLadder(retry_after=(DAY,), suspend_after=2 * DAY)
    step = next_step(ladder, 2, FAILED_AT)
    assert step.action is DunningAction.SUSPEND
    assert step.at == FAILED_AT + 2 * DAY


def test_next_step_no_retries_suspends_after_first_failure():
    """An empty retry list suspends right after the first decline."""
    step = next_step(DunningLadder(retry_after=()), 1, FAILED_AT)
    assert step.action is DunningAction.SUSPEND


def test_next_step_offset_failure_time_returns_utc():
    """A failure time in another zone gives a UTC step time."""
    failed = datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    step = next_step(DunningLadder(), 1, failed)
    assert step.at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert step.at.tzinfo is UTC


@pytest.mark.parametrize("failures", [0, -1])
def test_next_step_no_failure_raises_value_error(failures):
    """There is no dunning step before the first failure."""
    with pytest.raises(ValueError, match="1 or more"):
        next_step(DunningLadder(), failures, FAILED_AT)


def test_next_step_bool_failures_raises_type_error():
    """A bool is not a failure count."""
    with pytest.raises(TypeError):
        next_step(DunningLadder(), True, FAILED_AT)


def test_next_step_naive_failure_time_raises_value_error():
    """A naive failure time is refused."""
    with pytest.raises(ValueError, match="failed_at must be an aware datetime"):
        next_step(DunningLadder(), 1, datetime(2026, 3, 1))


def test_cancel_step_gives_cancel_after_the_grace():
    """A subscription suspended at T is canceled at T + cancel_after."""
    step = cancel_step(DunningLadder(), FAILED_AT)
    assert step == DunningStep(
        action=DunningAction.CANCEL,
        at=FAILED_AT + 7 * DAY,
        status=SubscriptionStatus.CANCELED,
    )
    assert step.event is SubscriptionEvent.CANCEL


def test_cancel_step_without_cancel_after_returns_none():
    """With cancel_after None the ladder never cancels by itself."""
    assert cancel_step(DunningLadder(cancel_after=None), FAILED_AT) is None


def test_cancel_step_naive_time_raises_value_error():
    """A naive suspension time is refused even when nothing would be scheduled."""
    with pytest.raises(ValueError):
        cancel_step(DunningLadder(cancel_after=None), datetime(2026, 3, 1))


def test_dunning_full_ladder_walk_ends_canceled_on_day_16():
    """Declines on D, D+1, D+4, D+9 suspend on D+9 and cancel on D+16."""
    ladder = DunningLadder()
    status = SubscriptionStatus.ACTIVE
    failures = 0
    attempt_at = FAILED_AT
    timeline = []
    while True:
        failures += 1
        status = transition(status, SubscriptionEvent.DECLINED)
        step = next_step(ladder, failures, attempt_at)
        timeline.append((step.action, step.at - FAILED_AT, status))
        if step.action is not DunningAction.RETRY:
            break
        attempt_at = step.at
    status = transition(status, step.event)
    assert status is step.status is SubscriptionStatus.SUSPENDED
    final = cancel_step(ladder, step.at)
    status = transition(status, final.event)
    assert status is final.status is SubscriptionStatus.CANCELED
    assert timeline == [
        (DunningAction.RETRY, 1 * DAY, SubscriptionStatus.PAST_DUE),
        (DunningAction.RETRY, 4 * DAY, SubscriptionStatus.PAST_DUE),
        (DunningAction.RETRY, 9 * DAY, SubscriptionStatus.PAST_DUE),
        (DunningAction.SUSPEND, 9 * DAY, SubscriptionStatus.PAST_DUE),
    ]
    assert final.at - FAILED_AT == 16 * DAY


def test_dunning_successful_retry_restarts_the_ladder():
    """A retry that completes makes the subscription active; the next decline is failure 1."""
    ladder = DunningLadder()
    status = transition(SubscriptionStatus.ACTIVE, SubscriptionEvent.DECLINED)
    retry = next_step(ladder, 1, FAILED_AT)
    status = transition(status, SubscriptionEvent.CHARGED)
    assert status is SubscriptionStatus.ACTIVE
    status = transition(status, SubscriptionEvent.DECLINED)
    assert next_step(ladder, 1, retry.at + 30 * DAY).at == retry.at + 31 * DAY
    assert status is SubscriptionStatus.PAST_DUE


def test_dunning_failure_while_suspended_cannot_suspend_again():
    """A hand-triggered decline while suspended leaves it suspended; suspend is refused."""
    step = next_step(DunningLadder(), 5, FAILED_AT)
    status = transition(SubscriptionStatus.SUSPENDED, SubscriptionEvent.DECLINED)
    assert status is SubscriptionStatus.SUSPENDED
    assert not can_transition(status, step.event)


def test_dunning_ladder_list_retry_after_becomes_tuple():
    """A list of delays is stored as a tuple so the ladder stays hashable."""
    ladder = DunningLadder(retry_after=[DAY, 2 * DAY])
    assert ladder.retry_after == (DAY, 2 * DAY)
    assert hash(ladder) == hash(DunningLadder(retry_after=(DAY, 2 * DAY)))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"retry_after": (1, 3)}, TypeError, r"retry_after\[0\] must be a timedelta"),
        (
            {"retry_after": (DAY, timedelta(0))},
            ValueError,
            r"retry_after\[1\] must be more",
        ),
        ({"retry_after": DAY}, TypeError, "retry_after must be a tuple"),
        ({"suspend_after": -DAY}, ValueError, "suspend_after must be 0 or more"),
        ({"cancel_after": -DAY}, ValueError, "cancel_after must be 0 or more"),
        ({"cancel_after": 7}, TypeError, "cancel_after must be a timedelta"),
    ],
)
def test_dunning_ladder_bad_values_raise(kwargs, error, message):
    """Direct construction refuses wrong types and negative or zero delays."""
    with pytest.raises(error, match=message):
        DunningLadder(**kwargs)


def test_from_setting_full_dict_builds_the_ladder():
    """Every key of the setting lands in the ladder, in days."""
    ladder = DunningLadder.from_setting(
        {"retry_after_days": [2, 4], "suspend_after_days": 1, "cancel_after_days": 14}
    )
    assert ladder == DunningLadder(
        retry_after=(2 * DAY, 4 * DAY), suspend_after=DAY, cancel_after=14 * DAY
    )


def test_from_setting_missing_keys_keep_defaults():
    """Keys left out keep the class defaults."""
    ladder = DunningLadder.from_setting({"cancel_after_days": 30})
    assert ladder == DunningLadder(cancel_after=30 * DAY)


def test_from_setting_list_is_short_for_retry_days():
    """A bare list sets only the retry delays."""
    assert DunningLadder.from_setting([1, 2]) == DunningLadder(
        retry_after=(DAY, 2 * DAY)
    )


def test_from_setting_none_gives_default_ladder():
    """No setting at all gives the default ladder."""
    assert DunningLadder.from_setting(None) == DunningLadder()


def test_from_setting_ladder_is_returned_unchanged():
    """A ladder already built is passed through."""
    ladder = DunningLadder(retry_after=(DAY,))
    assert DunningLadder.from_setting(ladder) is ladder


def test_from_setting_cancel_none_turns_cancel_off():
    """cancel_after_days None means never cancel automatically."""
    assert DunningLadder.from_setting({"cancel_after_days": None}).cancel_after is None


def test_from_setting_fractional_and_decimal_days_are_accepted():
    """Half a day is twelve hours; a Decimal day count works too."""
    ladder = DunningLadder.from_setting(
        {"retry_after_days": [0.5, Decimal("1.25")], "suspend_after_days": 0}
    )
    assert ladder.retry_after == (timedelta(hours=12), timedelta(hours=30))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1,3,5", "OKPAY_DUNNING must be a dict"),
        ({"retry_days": [1]}, "unknown keys retry_days"),
        (
            {"retry_after_days": 3},
            r"OKPAY_DUNNING\['retry_after_days'\] must be a list",
        ),
        (
            {"retry_after_days": [1, "3"]},
            r"\['retry_after_days'\]\[1\] must be a number",
        ),
        (
            {"retry_after_days": [1, 0]},
            r"\['retry_after_days'\]\[1\] must be more than 0",
        ),
        ({"retry_after_days": [True]}, "must be a number of days, not True"),
        ({"suspend_after_days": -1}, r"\['suspend_after_days'\] must be a finite"),
        (
            {"cancel_after_days": float("nan")},
            r"\['cancel_after_days'\] must be a finite",
        ),
        ({"cancel_after_days": float("inf")}, "must be a finite"),
    ],
)
def test_from_setting_bad_values_raise_value_error(value, message):
    """Settings mistakes raise ValueError naming the setting and the key."""
    with pytest.raises(ValueError, match=message):
        DunningLadder.from_setting(value, name="OKPAY_DUNNING")
