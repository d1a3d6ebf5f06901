from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from okpay_gateway.provider.auth import TokenSource, security_token
from okpay_gateway.types import FrozenClock

MY_API_PASS_TOKEN = "5950F9BDA723ECDF9859AD205412BB44E0DAB16630CA4462490DE64B02305F8D"
SEED_TOKEN = "CF49014918670822614A5816F10B8C1047FBD7FF2A653848F60BBE52821C0F72"


@pytest.mark.parametrize("minute", [0, 17, 59])
def test_security_token_my_api_pass_vector_matches(minute):
    """MyApiPass at any minute of 2010-06-01 15:xx UTC gives the documented token."""
    at = datetime(2010, 6, 1, 15, minute, 42, tzinfo=UTC)
    assert security_token("MyApiPass", at) == MY_API_PASS_TOKEN


def test_security_token_seed_token_vector_matches():
    """seedToken at 2014-02-20 14:00 UTC gives S8's test-vector token."""
    assert (
        security_token("seedToken", datetime(2014, 2, 20, 14, 0, tzinfo=UTC))
        == SEED_TOKEN
    )


def test_security_token_aware_non_utc_converted_to_utc():
    """An aware datetime in another zone is converted to its UTC hour first."""
    tallinn_summer = timezone(timedelta(hours=3))
    at = datetime(2010, 6, 1, 18, 5, tzinfo=tallinn_summer)  # 15:05 UTC
    assert security_token("MyApiPass", at) == MY_API_PASS_TOKEN


def test_security_token_date_rolls_over_in_utc():
    """Just after midnight local time east of UTC still hashes the previous UTC date."""
    at = datetime(
        2014, 2, 21, 1, 0, tzinfo=timezone(timedelta(hours=11))
    )  # 14:00 UTC on 20th
    assert security_token("seedToken", at) == SEED_TOKEN


def test_security_token_naive_datetime_rejected():
    """A naive datetime is refused rather than guessed."""
    with pytest.raises(ValueError, match="timezone-aware"):
        security_token("MyApiPass", datetime(2010, 6, 1, 15, 0))


def test_security_token_format_is_upper_hex_64():
    """The token is 64 upper-case hexadecimal characters."""
    token = security_token("x", datetime(2020, 1, 1, tzinfo=UTC))
    assert len(token) == 64
    assert token == token.upper()
    int(token, 16)


def test_token_source_uses_injected_clock_hour():
    """TokenSource builds the token of the injected clock's current hour."""
    clock = FrozenClock(datetime(2010, 6, 1, 15, 59, 59, tzinfo=UTC))
    source = TokenSource("MyApiPass", clock)
    assert source.token() == MY_API_PASS_TOKEN
    clock.advance(timedelta(seconds=1))
    assert source.token() == security_token(
        "MyApiPass", datetime(2010, 6, 1, 16, tzinfo=UTC)
    )


def test_token_source_resync_applies_server_offset():
    """After resync the token follows the server's clock, not the local one."""
    clock = FrozenClock(datetime(2014, 2, 20, 13, 58, tzinfo=UTC))
    source = TokenSource("seedToken", clock)
    source.resync(datetime(2014, 2, 20, 14, 1, tzinfo=UTC))
    assert source.offset == timedelta(minutes=3)
    assert source.token() == SEED_TOKEN


def test_token_source_repr_hides_password():
    """The password never appears in the TokenSource repr."""
    assert "secret-pass" not in repr(TokenSource("secret-pass", FrozenClock()))
