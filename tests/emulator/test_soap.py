"""The SOAP endpoint on the wire: raw envelopes through Django's test client."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import zeep
from lxml import etree

from okpay_gateway.emulator import faults, operations
from okpay_gateway.emulator.adapter import emulator_session
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.emulator.rules import security_token
from tests.emulator.conftest import START

URL = "/okpay-emulator/OkPayAPI"
ACTION = "https://api.okpay.com/I_OkPayAPI/"
S = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def envelope(operation: str, **params: object) -> str:
    inner = "".join(
        f"<{name}>{escape(str(value))}</{name}>" for name, value in params.items()
    )
    return (
        f'<s:Envelope xmlns:s="{S}"><s:Body>'
        f'<{operation} xmlns="https://api.okpay.com">{inner}</{operation}>'
        "</s:Body></s:Envelope>"
    )


def signed(wallet: Wallet, operation: str, **params: object) -> str:
    token = security_token(wallet.api_password, START)
    return envelope(operation, WalletID=wallet.wallet_id, SecurityToken=token, **params)


def post(client, body: str | bytes, operation: str | None = None, **extra):
    headers = {}
    if operation is not None:
        headers["HTTP_SOAPACTION"] = f'"{ACTION}{operation}"'
    return client.post(
        URL, body, content_type="text/xml; charset=utf-8", **headers, **extra
    )


def fault_of(response) -> tuple[str, str, str | None]:
    """(faultcode, faultstring, xml:lang) of a fault answer."""
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{S}}}Body/{{{S}}}Fault")
    assert fault is not None, response.content
    text = fault.find("faultstring")
    return fault.findtext("faultcode"), text.text, text.get(XML_LANG)


def assert_soap_fault(response, code: str, text: str) -> None:
    assert response.status_code == 500
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert fault_of(response) == (code, text, "en-US")


# --- malformed input -------------------------------------------------------------


def test_soap_not_xml_is_client_fault_not_html(client, frozen):
    """Garbage in the body gives a SOAP fault in text/xml, never a debug page."""
    response = post(client, "this is <not xml", "Get_Date_Time")
    assert_soap_fault(
        response, "s:Client", "Malformed SOAP message: not well-formed XML"
    )
    assert b"<html" not in response.content.lower()


def test_soap_empty_body_is_client_fault(client, frozen):
    """An empty POST is a malformed message."""
    response = post(client, b"", "Get_Date_Time")
    assert_soap_fault(response, "s:Client", "Malformed SOAP message: empty body")


def test_soap_xxe_attempt_refused_without_reading_file(client, frozen):
    """A DOCTYPE with an external entity is refused and nothing is expanded."""
    body = (
        '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM '
        '"file:///etc/passwd">]>'
        + envelope("Account_Check", WalletID="x", SecurityToken="y").replace(
            "<WalletID>x</WalletID>", "<WalletID>&xxe;</WalletID>"
        )
    )
    response = post(client, body, "Account_Check")
    assert_soap_fault(
        response, "s:Client", "Malformed SOAP message: DTDs are not allowed"
    )
    assert b"root:" not in response.content


def test_soap_wrong_root_element_is_client_fault(client, frozen):
    """Well-formed XML that is not a SOAP 1.1 envelope is refused."""
    response = post(client, "<Envelope><Body/></Envelope>", "Get_Date_Time")
    assert_soap_fault(
        response, "s:Client", "Malformed SOAP message: no SOAP 1.1 Envelope"
    )


def test_soap_12_envelope_is_client_fault(client, frozen):
    """A SOAP 1.2 envelope is refused: the binding is SOAP 1.1 only."""
    body = (
        '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
        '<Get_Date_Time xmlns="https://api.okpay.com"/></e:Body></e:Envelope>'
    )
    response = post(client, body, "Get_Date_Time")
    assert_soap_fault(
        response, "s:Client", "Malformed SOAP message: SOAP 1.2 is not supported"
    )


def test_soap_bad_decimal_is_incorrect_parameters(client, merchant, contract):
    """A value that does not fit the schema type is Incorrect_Parameters."""
    body = signed(
        merchant,
        "PreapprovedPayment_Charge",
        PreapprovedPaymentID=contract.id,
        Amount="ten",
    )
    response = post(client, body, "PreapprovedPayment_Charge")
    assert_soap_fault(response, "s:Client", "Incorrect_Parameters")


def test_soap_put_method_not_allowed(client, frozen):
    """Only GET and POST are served."""
    response = client.put(URL, b"")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


# --- dispatch --------------------------------------------------------------------


def test_soap_unknown_action_is_action_not_supported(client, frozen):
    """A SOAPAction naming no operation of the contract gives ActionNotSupported."""
    response = post(client, envelope("Get_Date_Time"), "Make_Coffee")
    assert_soap_fault(response, "s:Client", "ActionNotSupported")


def test_soap_unknown_body_without_action_is_action_not_supported(client, frozen):
    """Without SOAPAction an unknown wrapper element gives ActionNotSupported."""
    response = post(client, envelope("Make_Coffee"))
    assert_soap_fault(response, "s:Client", "ActionNotSupported")


def test_soap_missing_action_dispatches_on_body_element(client, frozen):
    """Without SOAPAction the body wrapper names the operation (G8)."""
    response = post(client, envelope("Get_Date_Time"))
    assert response.status_code == 200
    assert b"2026-03-11 10:30:00" in response.content


def test_soap_action_and_body_mismatch_is_incorrect_parameters(client, merchant):
    """A body that is not the wrapper of the SOAPAction's operation is refused."""
    response = post(client, signed(merchant, "Wallet_Get_Balance"), "Account_Check")
    assert_soap_fault(response, "s:Client", "Incorrect_Parameters")


def test_soap_unmodelled_operation_is_server_fault_saying_so(client, merchant):
    """An operation of the contract that the emulator lacks says so plainly."""
    body = signed(merchant, "Withdraw_To_Card_RU", CardNumber="4000", Amount="1.00")
    response = post(client, body, "Withdraw_To_Card_RU")
    assert_soap_fault(
        response,
        "s:Server",
        "Not modelled by the okpay-gateway emulator: Withdraw_To_Card_RU",
    )


# --- per-call checks ---------------------------------------------------------------


def test_soap_bad_token_is_authentication_failed(client, merchant):
    """A token for another password is Authentication_Failed (s:Client)."""
    body = envelope(
        "Wallet_Get_Balance",
        WalletID=merchant.wallet_id,
        SecurityToken=security_token("not-the-password", START),
    )
    assert_soap_fault(
        post(client, body, "Wallet_Get_Balance"), "s:Client", "Authentication_Failed"
    )


def test_soap_unknown_wallet_is_authentication_failed(client, frozen):
    """An unknown WalletID is Authentication_Failed."""
    body = envelope(
        "Wallet_Get_Balance",
        WalletID="OK000000000",
        SecurityToken=security_token("x", START),
    )
    assert_soap_fault(
        post(client, body, "Wallet_Get_Balance"), "s:Client", "Authentication_Failed"
    )


def test_soap_ip_not_allowed_is_invalid_ip_address(client, merchant):
    """A caller outside the wallet's allow-list gets Invalid_IP_Address."""
    merchant.ip_allow_list = "198.51.100.7 10.0.0.0/8"
    merchant.save()
    response = post(
        client, signed(merchant, "Wallet_Get_Balance"), "Wallet_Get_Balance"
    )
    assert_soap_fault(response, "s:Client", "Invalid_IP_Address")
    allowed = post(
        client,
        signed(merchant, "Wallet_Get_Balance"),
        "Wallet_Get_Balance",
        REMOTE_ADDR="10.1.2.3",
    )
    assert allowed.status_code == 200


def test_soap_api_disabled_wallet_is_account_api_disabled(client, merchant):
    """A wallet without API access gets Account_API_Disabled."""
    merchant.api_enabled = False
    merchant.save()
    response = post(
        client, signed(merchant, "Wallet_Get_Balance"), "Wallet_Get_Balance"
    )
    assert_soap_fault(response, "s:Client", "Account_API_Disabled")


def test_soap_strict_token_case_setting_refuses_lower_case(client, merchant, settings):
    """TOKEN_CASE_SENSITIVE makes a lower-case token fail (G4)."""
    body = envelope(
        "Wallet_Get_Balance",
        WalletID=merchant.wallet_id,
        SecurityToken=security_token(merchant.api_password, START).lower(),
    )
    assert post(client, body, "Wallet_Get_Balance").status_code == 200
    settings.OKPAY_EMULATOR = {"TOKEN_CASE_SENSITIVE": True}
    assert_soap_fault(
        post(client, body, "Wallet_Get_Balance"), "s:Client", "Authentication_Failed"
    )


# --- answers -----------------------------------------------------------------------


def test_soap_null_members_are_nil_elements(client, merchant, contract):
    """Null reference members are written as xsi:nil elements, value members always (G5)."""
    body = signed(merchant, "PreapprovedPayment_Get", PreapprovedPaymentID=contract.id)
    response = post(client, body, "PreapprovedPayment_Get")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(response.content)
    dc = "http://schemas.datacontract.org/2004/07/OkPayAPI.DataContract"
    end_date = root.find(f".//{{{dc}}}EndDate")
    assert end_date is not None and end_date.get(f"{{{XSI}}}nil") == "true"
    assert root.findtext(f".//{{{dc}}}PaymentsDone") == "0"
    assert root.findtext(f".//{{{dc}}}AvailableAmount") == "100.00"


def test_soap_refusal_code_is_faultstring(client, merchant, contract):
    """A business refusal comes back as the bare OKPAY code."""
    body = signed(
        merchant,
        "PreapprovedPayment_Charge",
        PreapprovedPaymentID=contract.id + 99,
        Amount="1.00",
    )
    response = post(client, body, "PreapprovedPayment_Charge")
    assert_soap_fault(response, "s:Client", "PreapprovedPayment_Not_Found")


def test_soap_injected_internal_error_is_server_fault(client, merchant):
    """A forced Internal_Error fault uses faultcode s:Server."""
    faults.add_rule(
        "fault", operation="Wallet_Get_Balance", fault_code="Internal_Error"
    )
    response = post(
        client, signed(merchant, "Wallet_Get_Balance"), "Wallet_Get_Balance"
    )
    assert_soap_fault(response, "s:Server", "Internal_Error")
    again = post(client, signed(merchant, "Wallet_Get_Balance"), "Wallet_Get_Balance")
    assert again.status_code == 200


def test_soap_injected_http_500_has_no_envelope(client, merchant):
    """An http_500 rule answers a bare HTTP 500 without SOAP."""
    faults.add_rule("http_500", wallet_id=merchant.wallet_id)
    response = post(
        client, signed(merchant, "Wallet_Get_Balance"), "Wallet_Get_Balance"
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "text/plain"
    assert b"Envelope" not in response.content


def test_soap_fault_rule_for_other_wallet_does_not_fire(client, merchant, customer):
    """A rule aimed at one wallet leaves the others alone."""
    faults.add_rule("http_500", wallet_id=customer.wallet_id)
    response = post(
        client, signed(merchant, "Wallet_Get_Balance"), "Wallet_Get_Balance"
    )
    assert response.status_code == 200


# --- WSDL and schemas ------------------------------------------------------------------


def test_wsdl_get_points_schema_locations_at_endpoint(client, frozen):
    """?wsdl rewrites every schemaLocation to ?xsd=xsdN of this endpoint."""
    response = client.get(URL + "?wsdl")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    xsd = "http://www.w3.org/2001/XMLSchema"
    locations = [n.get("schemaLocation") for n in root.iter(f"{{{xsd}}}import")]
    assert locations == [f"http://testserver{URL}?xsd=xsd{n}" for n in range(5)]
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == f"http://testserver{URL}"


def test_xsd_get_serves_schema_and_unknown_is_404(client, frozen):
    """?xsd=xsd2 serves the api schema; an unknown key is 404."""
    response = client.get(URL + "?xsd=xsd2")
    root = etree.fromstring(response.content)
    assert (
        root.get("targetNamespace")
        == "http://schemas.datacontract.org/2004/07/OkPayAPI"
    )
    assert client.get(URL + "?xsd=xsd9").status_code == 404


def test_served_wsdl_loads_in_zeep_through_adapter(db, frozen):
    """zeep can load the served WSDL and its schemas over the in-process adapter."""
    transport = zeep.Transport(
        session=emulator_session(), timeout=5, operation_timeout=5
    )
    zeep_client = zeep.Client(
        "http://okpay.emulator/OkPayAPI?wsdl", transport=transport
    )
    binding = next(iter(zeep_client.wsdl.bindings.values()))
    assert len(binding._operations) == 26
    assert "PreapprovedPayment_Charge" in binding._operations


def test_single_wsdl_inlines_all_schemas(client, frozen):
    """?singleWsdl carries the five schemas inline, without schemaLocation."""
    response = client.get(URL + "?singleWsdl")
    root = etree.fromstring(response.content)
    xsd = "http://www.w3.org/2001/XMLSchema"
    schemas = root.findall(f"{{http://schemas.xmlsoap.org/wsdl/}}types/{{{xsd}}}schema")
    assert len(schemas) == 5
    assert not [n for n in root.iter(f"{{{xsd}}}import") if n.get("schemaLocation")]


@pytest.mark.parametrize("currency", ["USD", "usd"])
def test_soap_currency_balance_case_insensitive(client, merchant, currency):
    """Wallet_Get_Currency_Balance accepts the currency in any case."""
    operations.set_balance(merchant, "USD", "12.34")
    body = signed(merchant, "Wallet_Get_Currency_Balance", Currency=currency)
    response = post(client, body, "Wallet_Get_Currency_Balance")
    assert response.status_code == 200
    assert b">12.34<" in response.content
