"""`OkPaySettings`: the frozen configuration the protocol layer is built from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from okpay_gateway.exceptions import ConfigurationError


class Environment(StrEnum):
    LIVE = "live"
    SANDBOX = "sandbox"
    EMULATOR = "emulator"


# The live hosts are OKPAY's last published ones. The sandbox hosts existed in
# OKPAY's own modules but were never switched on (okpay-ipn-links.md 1.1): they
# are an assumption and every URL can be overridden.
LIVE_API_URL = "https://api.okpay.com/OkPayAPI"
LIVE_CHECKOUT_URL = "https://checkout.okpay.com/"
LIVE_VERIFY_URL = "https://checkout.okpay.com/ipn-verify"
SANDBOX_API_URL = "https://api.okpay.com/OkPayAPI"
SANDBOX_CHECKOUT_URL = "https://testcheckout.okpay.com/"
SANDBOX_VERIFY_URL = "https://checkout.okpay.com/test-ipn-verify"
DEFAULT_EMULATOR_URL = "http://127.0.0.1:8765/"


@dataclass(frozen=True, slots=True)
class OkPaySettings:
    """Everything needed to talk to one OKPAY merchant wallet.

    Build it with :meth:`for_environment` unless every URL is known.
    The API password is kept out of ``repr`` so it cannot leak into logs.
    """

    wallet_id: str
    api_password: str = field(repr=False)
    environment: Environment = Environment.LIVE
    api_url: str = LIVE_API_URL
    checkout_url: str = LIVE_CHECKOUT_URL
    verify_url: str = LIVE_VERIFY_URL
    receiver_email: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    verify_timeout: float = 30.0
    accept_test_ipn: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.environment, Environment):
            try:
                object.__setattr__(self, "environment", Environment(self.environment))
            except ValueError as exc:
                choices = ", ".join(e.value for e in Environment)
                raise ConfigurationError(
                    f"environment must be one of {choices}"
                ) from exc
        for name in ("connect_timeout", "read_timeout", "verify_timeout"):
            value = getattr(self, name)
            if value is None or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if self.accept_test_ipn and self.environment is Environment.LIVE:
            raise ConfigurationError("accept_test_ipn is not allowed in live mode")

    @classmethod
    def for_environment(
        cls,
        environment: Environment | str,
        *,
        wallet_id: str,
        api_password: str,
        base_url: str | None = None,
        **overrides: object,
    ) -> OkPaySettings:
        """Settings with the URLs of ``environment`` filled in.

        ``base_url`` is where an emulator is served (its SOAP endpoint is
        ``<base_url>OkPayAPI``, its checkout ``<base_url>`` and its verify
        endpoint ``<base_url>ipn-verify``).
        """
        env = Environment(environment)
        if env is Environment.EMULATOR:
            base = (base_url or DEFAULT_EMULATOR_URL).rstrip("/") + "/"
            urls = {
                "api_url": base + "OkPayAPI",
                "checkout_url": base,
                "verify_url": base + "ipn-verify",
                "accept_test_ipn": True,
            }
        elif env is Environment.SANDBOX:
            urls = {
                "api_url": SANDBOX_API_URL,
                "checkout_url": SANDBOX_CHECKOUT_URL,
                "verify_url": SANDBOX_VERIFY_URL,
                "accept_test_ipn": True,
            }
        else:
            urls = {}
        values = {**urls, **overrides}
        return cls(
            wallet_id=wallet_id,
            api_password=api_password,
            environment=env,
            **values,  # type: ignore[arg-type]
        )

    def with_changes(self, **changes: object) -> OkPaySettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def accepts_test_answers(self) -> bool:
        """Whether a TEST postback answer may be treated as trustworthy."""
        return self.accept_test_ipn and self.environment is not Environment.LIVE
