"""Browser and IPN side of the emulator: checkout, /ipn-verify, simulator, control."""

from __future__ import annotations

from django.urls import path

from okpay_gateway.emulator import (
    checkout,
    control,
    merchant_account,
    merchant_sign_in,
    simulator,
    verify,
)

urlpatterns = [
    path("", checkout.checkout_entry, name="checkout"),
    path("checkout/<str:token>/", checkout.checkout_page, name="checkout-page"),
    path("checkout/<str:token>/sign-in", checkout.sign_in, name="checkout-sign-in"),
    path("checkout/<str:token>/sign-out", checkout.sign_out, name="checkout-sign-out"),
    path("checkout/<str:token>/approve", checkout.approve, name="checkout-approve"),
    path("checkout/<str:token>/decline", checkout.decline, name="checkout-decline"),
    path("ipn-verify", verify.ipn_verify, name="ipn-verify"),
    path("ipn-verify.html", verify.ipn_verify, name="ipn-verify-html"),
    path("merchant/", merchant_account.account_page, name="merchant-account"),
    path("merchant/sign-in", merchant_sign_in.sign_in, name="merchant-sign-in"),
    path("merchant/sign-out", merchant_sign_in.sign_out, name="merchant-sign-out"),
    path("simulator/", simulator.simulator_page, name="simulator"),
    path("simulator/api", simulator.simulator_api, name="simulator-api"),
    path("control/", control.control_page, name="control"),
    path("control/clock", control.clock_form, name="control-clock"),
    path("control/faults", control.fault_add_form, name="control-faults"),
    path(
        "control/faults/<int:pk>/delete",
        control.fault_delete_form,
        name="control-fault-delete",
    ),
    path("control/ipn/", control.ipn_page, name="control-ipn"),
    path(
        "control/ipn/<int:ipn_id>/resend",
        control.ipn_resend_form,
        name="control-ipn-resend",
    ),
    path("control/ipn/deliver", control.ipn_deliver_form, name="control-ipn-deliver"),
    path("control/ledger/", control.ledger_page, name="control-ledger"),
    path(
        "control/contracts/<int:contract_id>/revoke",
        control.contract_revoke_form,
        name="control-contract-revoke",
    ),
    path("control/api/clock", control.api_clock, name="api-clock"),
    path("control/api/faults", control.api_faults, name="api-faults"),
    path(
        "control/api/faults/<int:pk>/delete",
        control.api_fault_delete,
        name="api-fault-delete",
    ),
    path("control/api/faults/clear", control.api_faults_clear, name="api-faults-clear"),
    path("control/api/ipn", control.api_ipn, name="api-ipn"),
    path(
        "control/api/ipn/<int:ipn_id>/resend",
        control.api_ipn_resend,
        name="api-ipn-resend",
    ),
    path("control/api/ipn/deliver", control.api_ipn_deliver, name="api-ipn-deliver"),
    path("control/api/ledger", control.api_ledger, name="api-ledger"),
    path(
        "control/api/contracts/<int:contract_id>/revoke",
        control.api_contract_revoke,
        name="api-contract-revoke",
    ),
    path("control/api/seed", control.api_seed, name="api-seed"),
]
