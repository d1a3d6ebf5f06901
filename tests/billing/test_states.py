"""Tests for okpay_gateway.billing.states."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okpay_gateway.billing.states import (
    CONTRACT_CLOSED_EVENTS,
    TERMINAL_STATUSES,
    TRANSITIONS,
    SubscriptionEvent,
    SubscriptionStatus,
    allowed_events,
    can_transition,
    transition,
)
from okpay_gateway.exceptions import BillingError, InvalidTransition

S = SubscriptionStatus
E = SubscriptionEvent

# Written out again on purpose: a change to the table must be a deliberate change
# to this test as well.
EXPECTED = {
    (S.ACTIVE, E.CHARGED): S.ACTIVE,
    (S.ACTIVE, E.DECLINED): S.PAST_DUE,
    (S.ACTIVE, E.CANCEL): S.CANCELED,
    (S.ACTIVE, E.EXPIRE): S.EXPIRED,
    (S.ACTIVE, E.CONTRACT_CANCELED): S.CANCELED,
    (S.ACTIVE, E.CONTRACT_EXPIRED): S.EXPIRED,
    (S.PAST_DUE, E.CHARGED): S.ACTIVE,
    (S.PAST_DUE, E.DECLINED): S.PAST_DUE,
    (S.PAST_DUE, E.SUSPEND): S.SUSPENDED,
    (S.PAST_DUE, E.CANCEL): S.CANCELED,
    (S.PAST_DUE, E.EXPIRE): S.EXPIRED,
    (S.PAST_DUE, E.CONTRACT_CANCELED): S.CANCELED,
    (S.PAST_DUE, E.CONTRACT_EXPIRED): S.EXPIRED,
    (S.SUSPENDED, E.CHARGED): S.ACTIVE,
    (S.SUSPENDED, E.DECLINED): S.SUSPENDED,
    (S.SUSPENDED, E.CANCEL): S.CANCELED,
    (S.SUSPENDED, E.EXPIRE): S.EXPIRED,
    (S.SUSPENDED, E.CONTRACT_CANCELED): S.CANCELED,
    (S.SUSPENDED, E.CONTRACT_EXPIRED): S.EXPIRED,
}

ALL_PAIRS = list(itertools.product(SubscriptionStatus, SubscriptionEvent))


def test_transitions_table_matches_the_documented_design():
    """The table holds exactly the documented transitions."""
    assert dict(TRANSITIONS) == EXPECTED


def test_enum_values_are_the_stored_strings():
    """Statuses and events have the lower-case values stored and logged."""
    assert [s.value for s in SubscriptionStatus] == [
        "active",
        "past_due",
        "suspended",
        "canceled",
        "expired",
    ]
    assert [e.value for e in SubscriptionEvent] == [
        "charged",
        "declined",
        "suspend",
        "cancel",
        "expire",
        "contract_canceled",
        "contract_expired",
    ]


@pytest.mark.parametrize(("status", "event"), ALL_PAIRS)
def test_transition_every_pair_follows_the_table(status, event):
    """Every (status, event) pair gives the table's value, or raises if absent."""
    if (status, event) in EXPECTED:
        assert can_transition(status, event) is True
        assert transition(status, event) is EXPECTED[status, event]
    else:
        assert can_transition(status, event) is False
        with pytest.raises(InvalidTransition) as excinfo:
            transition(status, event)
        assert excinfo.value.current == status.value
        assert excinfo.value.requested == event.value


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_allowed_events_terminal_status_is_empty(status):
    """Canceled and expired accept no event at all."""
    assert allowed_events(status) == frozenset()


def test_terminal_statuses_are_canceled_and_expired():
    """Exactly canceled and expired are terminal."""
    assert frozenset({S.CANCELED, S.EXPIRED}) == TERMINAL_STATUSES


def test_allowed_events_past_due_lists_its_events():
    """Past due accepts a charge, a decline, the ladder's steps and the closings."""
    assert allowed_events("past_due") == frozenset(
        {
            E.CHARGED,
            E.DECLINED,
            E.SUSPEND,
            E.CANCEL,
            E.EXPIRE,
            E.CONTRACT_CANCELED,
            E.CONTRACT_EXPIRED,
        }
    )


def test_transition_charge_in_past_due_returns_active():
    """A completed charge brings a past-due subscription back to active."""
    assert transition(S.PAST_DUE, E.CHARGED) is S.ACTIVE


def test_transition_charge_in_suspended_returns_active():
    """Money that moved while suspended makes the subscription active again."""
    assert transition(S.SUSPENDED, E.CHARGED) is S.ACTIVE


def test_transition_decline_in_active_returns_past_due():
    """The first decline makes an active subscription past due."""
    assert transition(S.ACTIVE, E.DECLINED) is S.PAST_DUE


def test_transition_dunning_ladder_walks_to_canceled():
    """Decline, suspend, cancel walk active -> past_due -> suspended -> canceled."""
    status = S.ACTIVE
    walked = []
    for event in (E.DECLINED, E.DECLINED, E.SUSPEND, E.CANCEL):
        status = transition(status, event)
        walked.append(status)
    assert walked == [S.PAST_DUE, S.PAST_DUE, S.SUSPENDED, S.CANCELED]


def test_transition_suspend_from_active_raises_invalid_transition():
    """Only a past-due subscription can be suspended."""
    with pytest.raises(InvalidTransition, match="'active' to 'suspend'"):
        transition(S.ACTIVE, E.SUSPEND)


def test_transition_plain_strings_are_accepted():
    """Values read from the database work without converting them first."""
    assert transition("active", "declined") is S.PAST_DUE
    assert can_transition("canceled", "charged") is False


def test_transition_unknown_string_raises_value_error():
    """A value that is no status is a programming error, not a refused transition."""
    with pytest.raises(ValueError):
        transition("paused", "charged")
    with pytest.raises(ValueError):
        can_transition("active", "refund")


def test_invalid_transition_is_a_billing_error():
    """InvalidTransition sits under BillingError with a stable code."""
    with pytest.raises(BillingError) as excinfo:
        transition(S.EXPIRED, E.CHARGED)
    assert excinfo.value.code == "invalid_transition"


def test_transitions_table_is_read_only():
    """Nobody can add a row to the table at run time."""
    with pytest.raises(TypeError):
        TRANSITIONS[S.CANCELED, E.CHARGED] = S.ACTIVE  # type: ignore[index]


@pytest.mark.parametrize(
    ("contract_status", "expected"),
    [("canceled", S.CANCELED), ("failed", S.CANCELED), ("expired", S.EXPIRED)],
)
def test_contract_closed_events_close_live_subscriptions(contract_status, expected):
    """A closed agreement ends every live subscription as canceled or expired."""
    event = CONTRACT_CLOSED_EVENTS[contract_status]
    for status in (S.ACTIVE, S.PAST_DUE, S.SUSPENDED):
        assert transition(status, event) is expected


@settings(database=None, deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(list(SubscriptionEvent)), max_size=30))
def test_transition_property_terminal_states_are_never_left(events):
    """On any walk of allowed events, a terminal status is final."""
    status = S.ACTIVE
    first_terminal = None
    for event in events:
        if can_transition(status, event):
            assert first_terminal is None
            status = transition(status, event)
        if status in TERMINAL_STATUSES and first_terminal is None:
            first_terminal = status
    if first_terminal is not None:
        assert status is first_terminal
