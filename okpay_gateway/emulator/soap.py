"""The emulator's ``OkPayAPI`` SOAP 1.1 endpoint.

Scope: the operations a pre-approved payments integration uses
(:data:`IMPLEMENTED`). Every other operation of the contract answers a SOAP
fault with faultcode ``s:Server`` and the faultstring
``Not modelled by the okpay-gateway emulator: <Operation>``, so a client sees
plainly that the stand-in, not OKPAY, lacks it.

The wire format comes from our own WSDL through zeep's binding objects:
requests are read with the operation's input element, answers are written
with ``operation.output.serialize``. WCF conventions (G5): every member of
a returned type is present, null reference members are ``xsi:nil="true"``.

Faults (G1): ``s:Client`` for the caller's mistakes, ``s:Server`` for
``Internal_Error`` and ``API_Disabled``; the faultstring is the bare OKPAY
code with ``xml:lang="en-US"``; HTTP 500, ``text/xml; charset=utf-8``.

GET ``?wsdl`` serves the WSDL with its schema locations pointing at
``?xsd=xsd0`` ... ``?xsd=xsd4`` of this endpoint, ``?singleWsdl`` the same
with the schemas inlined.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dt_time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from lxml import etree
from zeep.xsd import Nil

from okpay_gateway.emulator import clock, faults, operations, rules, xsd_lexical
from okpay_gateway.emulator.models import (
    Contract,
    FaultKind,
    FaultRule,
    Transaction,
    Wallet,
)
from okpay_gateway.emulator.operations import Refused
from okpay_gateway.emulator.rules import FaultCode
from okpay_gateway.emulator.settings import get_settings
from okpay_gateway.http_server import set_access_log_level
from okpay_gateway.provider import messages
from okpay_gateway.provider.transport import load_wsdl_document
from okpay_gateway.provider.wsdl import (
    BINDING_QNAME,
    SCHEMA_FILES,
    SOAP_ACTION_PREFIX,
    TNS,
    WSDL_PATH,
)

logger = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
CONTENT_TYPE = "text/xml; charset=utf-8"

# Set by the in-process adapter in the WSGI environ:
# {"read_timeout": float | None, "url": the requested URL without its query}.
IN_PROCESS_ENVIRON_KEY = "okpay_emulator.in_process"
# Answer header telling the adapter to raise ReadTimeout ("slow" / "applied_late").
TIMEOUT_HEADER = "X-OkPay-Emulator-Timeout"

# Django's own default request cap; the endpoint enforces it itself so that a
# bigger body is answered with a SOAP fault whatever the host project's
# DATA_UPLOAD_MAX_MEMORY_SIZE says.
MAX_ENVELOPE_BYTES = 2_621_440
TOO_LARGE = f"Malformed SOAP message: larger than {MAX_ENVELOPE_BYTES} bytes"

NOT_MODELLED = "Not modelled by the okpay-gateway emulator: {operation}"
ACTION_NOT_SUPPORTED = "ActionNotSupported"


class SoapFault(Exception):
    """Answer with a SOAP fault."""

    def __init__(self, faultstring: str, *, server: bool | None = None) -> None:
        super().__init__(faultstring)
        self.faultstring = str(faultstring)
        if server is None:
            server = faultstring in rules.SERVER_FAULT_CODES
        self.server = server


# --- WSDL and schemas ------------------------------------------------------


@lru_cache(maxsize=1)
def _document():
    return load_wsdl_document(WSDL_PATH)


def _binding():
    return _document().bindings[BINDING_QNAME]


def operation_names() -> list[str]:
    """Every operation of the contract (26, G6)."""
    return list(_binding()._operations)


_FILE_KEYS = {path.name: key for key, path in SCHEMA_FILES.items()}


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def _rewrite_locations(root: etree._Element, endpoint: str) -> None:
    for node in root.iter(f"{{{XSD_NS}}}import", f"{{{XSD_NS}}}include"):
        location = node.get("schemaLocation")
        if location and location.rsplit("/", 1)[-1] in _FILE_KEYS:
            key = _FILE_KEYS[location.rsplit("/", 1)[-1]]
            node.set("schemaLocation", f"{endpoint}?xsd={key}")
    for address in root.iter(f"{{{WSDL_SOAP_NS}}}address"):
        address.set("location", endpoint)


def _serve_xml(root: etree._Element) -> HttpResponse:
    body = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return HttpResponse(body, content_type=CONTENT_TYPE)


def wsdl_document(endpoint: str) -> bytes:
    """Our WSDL with schema locations and the service address pointing at ``endpoint``."""
    root = etree.fromstring(WSDL_PATH.read_bytes(), _safe_parser())
    _rewrite_locations(root, endpoint)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def schema_document(key: str, endpoint: str) -> bytes:
    """One XSD (``xsd0`` ... ``xsd4``) with its imports pointing at ``endpoint``."""
    root = etree.fromstring(SCHEMA_FILES[key].read_bytes(), _safe_parser())
    _rewrite_locations(root, endpoint)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def single_wsdl_document(endpoint: str) -> bytes:
    """The WSDL with all five schemas inlined (WCF's ``?singleWsdl``)."""
    root = etree.fromstring(WSDL_PATH.read_bytes(), _safe_parser())
    types = root.find(f"{{{WSDL_NS}}}types")
    for child in list(types):
        types.remove(child)
    for path in SCHEMA_FILES.values():
        schema = etree.fromstring(path.read_bytes(), _safe_parser())
        for node in schema.iter(f"{{{XSD_NS}}}import"):
            node.attrib.pop("schemaLocation", None)
        types.append(schema)
    for address in root.iter(f"{{{WSDL_SOAP_NS}}}address"):
        address.set("location", endpoint)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _endpoint_url(request: HttpRequest) -> str:
    # In-process, Django sees the URLconf path; callers must see the mounted URL.
    in_process = request.META.get(IN_PROCESS_ENVIRON_KEY) or {}
    return in_process.get("url") or request.build_absolute_uri(request.path)


def _serve_get(request: HttpRequest) -> HttpResponse:
    endpoint = _endpoint_url(request)
    query = {key.lower(): value for key, value in request.GET.items()}
    if "wsdl" in query:
        return HttpResponse(wsdl_document(endpoint), content_type=CONTENT_TYPE)
    if "singlewsdl" in query:
        return HttpResponse(single_wsdl_document(endpoint), content_type=CONTENT_TYPE)
    if "xsd" in query:
        key = query["xsd"].lower()
        if key not in SCHEMA_FILES:
            return HttpResponse(
                "unknown schema", status=404, content_type="text/plain; charset=utf-8"
            )
        return HttpResponse(schema_document(key, endpoint), content_type=CONTENT_TYPE)
    return HttpResponse(
        f"OkPayAPI (okpay-gateway emulator). WSDL: {endpoint}?wsdl\n",
        content_type="text/plain; charset=utf-8",
    )


# --- faults and answers ----------------------------------------------------


def fault_body(faultstring: str, *, server: bool) -> bytes:
    """A SOAP 1.1 Fault envelope as WCF writes one for a ``FaultException``."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"s": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = "s:Server" if server else "s:Client"
    text = etree.SubElement(fault, "faultstring")
    text.set(f"{{{XML_NS}}}lang", "en-US")
    text.text = faultstring
    return etree.tostring(envelope, xml_declaration=False, encoding="utf-8")


def fault_response(faultstring: str, *, server: bool) -> HttpResponse:
    response = HttpResponse(
        fault_body(faultstring, server=server), status=500, content_type=CONTENT_TYPE
    )
    # A fault is an ordinary answer of this API (logged by us at INFO), not a
    # server error for django.request to report at ERROR level.
    response._has_been_logged = True
    response.okpay_fault_server = server
    return response


def _nil(value: Any) -> Any:
    """Turn ``None`` into xsi:nil all the way down (G5)."""
    if value is None:
        return Nil
    if isinstance(value, dict):
        return {key: _nil(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nil(item) for item in value]
    return value


def _answer(operation: str, result: Any) -> HttpResponse:
    message = (
        _binding()
        .get(operation)
        .output.serialize(**{f"{operation}Result": _nil(result)})
    )
    body = etree.tostring(message.content, xml_declaration=False, encoding="utf-8")
    return HttpResponse(body, content_type=CONTENT_TYPE)


# --- wire values -----------------------------------------------------------


def account_info(wallet: Wallet) -> messages.AccountInfo:
    return messages.AccountInfo(
        account_id=wallet.account_id,
        country_iso=wallet.country_iso or None,
        email=wallet.email,
        name=wallet.name or None,
        verification_status=messages.VerificationStatus(wallet.verification_status),
        wallet_id=wallet.wallet_id,
    )


def transaction_info(txn: Transaction) -> messages.TransactionInfo:
    return messages.TransactionInfo(
        amount=txn.amount,
        comment=txn.comment or None,
        currency=txn.currency,
        date=txn.created_at,
        fees=txn.fee,
        id=txn.id,
        invoice=txn.invoice,
        net=txn.net,
        operation_name=txn.operation_name,
        receiver=account_info(txn.receiver),
        sender=account_info(txn.sender),
        status=messages.OperationStatus(txn.status),
    )


def preapproved_payment(
    contract: Contract, now: datetime
) -> messages.PreapprovedPayment:
    # The end date is inclusive (A13): report the last second it is valid.
    end = (
        datetime.combine(contract.end_date, dt_time(23, 59, 59), tzinfo=UTC)
        if contract.end_date
        else None
    )
    return messages.PreapprovedPayment(
        available_amount=operations.contract_available_amount(contract, now),
        client=account_info(contract.client),
        client_pays_fee=contract.client_pays_fee,
        currency=contract.currency,
        end_date=end,
        id=contract.id,
        invoice=contract.invoice or None,
        last_payment_date=contract.last_payment_at,
        merchant_wallet_id=contract.receiver.wallet_id,
        payments_amount=contract.payments_amount,
        payments_done=contract.payments_done,
        start_date=contract.created_at,
        status=messages.PreapprovedPaymentStatus(contract.status),
        title=contract.title,
    )


# --- operations --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    operation: str
    params: Any
    wallet: Wallet | None
    now: datetime

    def param(self, name: str) -> Any:
        return getattr(self.params, name, None)


def _get_date_time(call: Call) -> Any:
    return rules.format_datetime(call.now)


def _account_check(call: Call) -> Any:
    return operations.account_check(call.param("Account"))


def _wallet_get_balance(call: Call) -> Any:
    rows = operations.wallet_balances(call.wallet)
    return {"Balance": [messages.Balance(r.amount, r.currency).to_wire() for r in rows]}


def _wallet_get_currency_balance(call: Call) -> Any:
    currency, amount = operations.currency_balance(call.wallet, call.param("Currency"))
    return messages.Balance(amount, currency).to_wire()


def _send_money(call: Call) -> Any:
    txn = operations.send_money(
        sender=call.wallet,
        receiver=call.param("Receiver"),
        currency=call.param("Currency"),
        amount=call.param("Amount"),
        comment=call.param("Comment"),
        receiver_pays_fees=bool(call.param("IsReceiverPaysFees")),
        invoice=call.param("Invoice"),
        now=call.now,
    )
    return transaction_info(txn).to_wire()


def _transaction_get(call: Call) -> Any:
    txn = operations.get_transaction(
        wallet=call.wallet, txn_id=call.param("TxnID"), invoice=call.param("Invoice")
    )
    return transaction_info(txn).to_wire()


def _history_bound(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    value = rules.parse_datetime(text)
    if value is None:
        raise Refused(FaultCode.INCORRECT_PARAMETERS, f"date {text!r}")
    return value


def _transaction_history(call: Call) -> Any:
    page = operations.transaction_history(
        wallet=call.wallet,
        start=_history_bound(call.param("From")),
        end=_history_bound(call.param("Till")),
        page_size=call.param("PageSize") or 0,
        page_number=call.param("PageNumber") or 0,
    )
    return {
        "PageCount": page.page_count,
        "PageNumber": page.page_number,
        "PageSize": page.page_size,
        "TotalCount": page.total_count,
        "Transactions": {
            "TransactionInfo": [
                transaction_info(t).to_wire() for t in page.transactions
            ]
        },
    }


def _contract_get(call: Call) -> Any:
    contract = operations.get_contract(
        wallet=call.wallet, contract_id=call.param("PreapprovedPaymentID")
    )
    return preapproved_payment(contract, call.now).to_wire()


def _statuses(value: Any) -> list[str]:
    if value is None:
        return []
    items = getattr(value, "PreapprovedPaymentStatuses", None) or []
    return [str(item) for item in items]


def _contracts_filter(call: Call) -> Any:
    contracts = operations.filter_contracts(
        merchant=call.wallet,
        title=call.param("Title"),
        invoice=call.param("Invoice"),
        client=call.param("Client"),
        statuses=_statuses(call.param("Statuses")),
    )
    return {
        "PreapprovedPayment": [
            preapproved_payment(c, call.now).to_wire() for c in contracts
        ]
    }


def _contract_charge(call: Call) -> Any:
    comment = call.param("Comment")
    invoice = None
    if get_settings().charge_comment_is_invoice:
        invoice, _rest = messages.split_charge_comment(comment)
    txn = operations.charge_contract(
        merchant=call.wallet,
        contract_id=call.param("PreapprovedPaymentID"),
        amount=call.param("Amount"),
        comment=comment,
        receiver=call.param("Receiver"),
        invoice=invoice,
        now=call.now,
    )
    return transaction_info(txn).to_wire()


def _contract_cancel(call: Call) -> Any:
    contract = operations.cancel_contract(
        wallet=call.wallet,
        contract_id=call.param("PreapprovedPaymentID"),
        comment=call.param("Comment"),
        now=call.now,
    )
    return preapproved_payment(contract, call.now).to_wire()


def _contract_operations(call: Call) -> Any:
    txns = operations.contract_operations(
        wallet=call.wallet, contract_id=call.param("PreapprovedPaymentID")
    )
    return {"TransactionInfo": [transaction_info(t).to_wire() for t in txns]}


IMPLEMENTED: dict[str, Callable[[Call], Any]] = {
    "Get_Date_Time": _get_date_time,
    "Account_Check": _account_check,
    "Wallet_Get_Balance": _wallet_get_balance,
    "Wallet_Get_Currency_Balance": _wallet_get_currency_balance,
    "Send_Money": _send_money,
    "Transaction_Get": _transaction_get,
    "Transaction_History": _transaction_history,
    "PreapprovedPayment_Get": _contract_get,
    "PreapprovedPayments_Filter": _contracts_filter,
    "PreapprovedPayment_Charge": _contract_charge,
    "PreapprovedPayment_Cancel": _contract_cancel,
    "PreapprovedPayment_Get_Operations": _contract_operations,
}
UNAUTHENTICATED = frozenset({"Get_Date_Time"})


# --- request handling ------------------------------------------------------


def _parse_envelope(body: bytes) -> etree._Element:
    if not body:
        raise SoapFault("Malformed SOAP message: empty body", server=False)
    try:
        root = etree.fromstring(body, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SoapFault(
            "Malformed SOAP message: not well-formed XML", server=False
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise SoapFault("Malformed SOAP message: DTDs are not allowed", server=False)
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise SoapFault(
            "Malformed SOAP message: SOAP 1.2 is not supported", server=False
        )
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("Malformed SOAP message: no SOAP 1.1 Envelope", server=False)
    return root


def _wrapper(envelope: etree._Element) -> etree._Element | None:
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise SoapFault("Malformed SOAP message: no Body", server=False)
    children = [child for child in body if isinstance(child.tag, str)]
    return children[0] if children else None


def _operation_of(soap_action: str | None, wrapper: etree._Element | None) -> str:
    """Dispatch on SOAPAction, else on the body wrapper's name (G8)."""
    known = set(operation_names())
    action = (soap_action or "").strip().strip('"').strip()
    if action:
        name = (
            action[len(SOAP_ACTION_PREFIX) :]
            if action.startswith(SOAP_ACTION_PREFIX)
            else ""
        )
        if name not in known:
            raise SoapFault(ACTION_NOT_SUPPORTED, server=False)
        return name
    if wrapper is not None:
        qname = etree.QName(wrapper)
        if qname.namespace == TNS and qname.localname in known:
            return qname.localname
    raise SoapFault(ACTION_NOT_SUPPORTED, server=False)


def _check_lexical(schema_type: Any, node: etree._Element) -> None:
    """Refuse text that is not a lexical form of its schema type.

    Runs before zeep parses the request: zeep reads more than the schema
    allows and logs a traceback for what it cannot read.
    """
    members = dict(getattr(schema_type, "elements", ()))
    for child in node:
        if not isinstance(child.tag, str):
            continue
        member = members.get(etree.QName(child).localname)
        if member is None or child.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
            continue  # zeep decides about unknown and nil members
        qname = getattr(member.type, "qname", None)
        if qname is not None and etree.QName(qname).namespace == XSD_NS:
            if not xsd_lexical.is_valid(etree.QName(qname).localname, child.text):
                raise SoapFault(FaultCode.INCORRECT_PARAMETERS)
        else:
            _check_lexical(member.type, child)


def _read_params(operation: str, wrapper: etree._Element | None) -> Any:
    element = _document().types.get_element(f"{{{TNS}}}{operation}")
    if wrapper is None or wrapper.tag != f"{{{TNS}}}{operation}":
        raise SoapFault(FaultCode.INCORRECT_PARAMETERS)
    _check_lexical(element.type, wrapper)
    try:
        return element.parse(wrapper, _document().types)
    except Exception as exc:  # zeep raises assorted errors for bad content
        logger.info(
            "emulator could not read %s request: %s", operation, type(exc).__name__
        )
        raise SoapFault(FaultCode.INCORRECT_PARAMETERS) from exc


def _authenticate(call_params: Any, remote_addr: str | None, now: datetime) -> Wallet:
    current = get_settings()
    wallet_id = getattr(call_params, "WalletID", None)
    wallet = (
        operations.find_wallet(wallet_id)
        if wallet_id and "@" not in wallet_id
        else None
    )
    if wallet is None:
        raise SoapFault(FaultCode.AUTHENTICATION_FAILED)
    if not wallet.api_enabled:
        raise SoapFault(FaultCode.ACCOUNT_API_DISABLED)
    if current.enforce_ip_allow_list and not rules.ip_allowed(
        remote_addr, wallet.ip_allow_list
    ):
        raise SoapFault(FaultCode.INVALID_IP_ADDRESS)
    code = rules.check_token(
        getattr(call_params, "SecurityToken", None),
        wallet.api_password,
        now,
        hours_before=current.token_hours_before,
        hours_after=current.token_hours_after,
        case_sensitive=current.token_case_sensitive,
    )
    if code:
        raise SoapFault(code)
    return wallet


def _delay(rule: FaultRule) -> float:
    return float(min(Decimal(rule.delay_seconds), get_settings().max_injected_delay))


def _times_out(rule: FaultRule, in_process: dict | None) -> bool:
    """In-process only: would the caller's read timeout expire before the answer?"""
    if in_process is None:
        return False
    read_timeout = in_process.get("read_timeout")
    return read_timeout is not None and _delay(rule) >= float(read_timeout)


def _timeout_marker(kind: str) -> HttpResponse:
    response = HttpResponse(b"", status=504, content_type="text/plain; charset=utf-8")
    response[TIMEOUT_HEADER] = kind
    return response


def handle(
    body: bytes,
    *,
    soap_action: str | None,
    remote_addr: str | None,
    in_process: dict | None = None,
) -> HttpResponse:
    """Answer one SOAP POST (exposed for tests and other hosts of the endpoint)."""
    operation = "?"
    wallet_id = None
    try:
        envelope = _parse_envelope(body)
        wrapper = _wrapper(envelope)
        operation = _operation_of(soap_action, wrapper)
        if operation not in IMPLEMENTED:
            raise SoapFault(NOT_MODELLED.format(operation=operation), server=True)
        params = _read_params(operation, wrapper)
        now = clock.now()
        wallet = None
        if operation not in UNAUTHENTICATED:
            wallet = _authenticate(params, remote_addr, now)
            wallet_id = wallet.wallet_id
        contract_id = getattr(params, "PreapprovedPaymentID", None)
        rule = faults.take(
            faults.SOAP_KINDS,
            wallet_id=wallet_id,
            contract_id=contract_id,
            operation=operation,
        )
        if rule is not None and rule.kind == FaultKind.FAULT:
            raise SoapFault(rule.fault_code)
        if rule is not None and rule.kind == FaultKind.HTTP_500:
            return HttpResponse(
                b"Internal Server Error", status=500, content_type="text/plain"
            )
        if rule is not None and rule.kind == FaultKind.SLOW:
            if _times_out(rule, in_process):
                # The caller gave up before OKPAY would even have started.
                return _timeout_marker(FaultKind.SLOW)
            time.sleep(_delay(rule))
            now = clock.now()
        result = IMPLEMENTED[operation](Call(operation, params, wallet, now))
        response = _answer(operation, result)
        if rule is not None and rule.kind == FaultKind.APPLIED_LATE:
            # The operation has committed; only the answer is late.
            if _times_out(rule, in_process):
                return _timeout_marker(FaultKind.APPLIED_LATE)
            time.sleep(_delay(rule))
        logger.info("emulator %s for %s: ok", operation, wallet_id or "-")
        return response
    except Refused as refusal:
        logger.info(
            "emulator %s for %s refused: %s", operation, wallet_id or "-", refusal.code
        )
        return fault_response(
            refusal.code, server=refusal.code in rules.SERVER_FAULT_CODES
        )
    except SoapFault as fault:
        logger.info(
            "emulator %s for %s fault: %s",
            operation,
            wallet_id or "-",
            fault.faultstring,
        )
        return fault_response(fault.faultstring, server=fault.server)
    except Exception:
        logger.exception("emulator %s failed", operation)
        return fault_response(FaultCode.INTERNAL_ERROR, server=True)


def _read_body(request: HttpRequest) -> bytes | None:
    """The request body, or ``None`` when it is over :data:`MAX_ENVELOPE_BYTES`.

    Read from the stream rather than ``request.body``, which raises Django's
    RequestDataTooBig (an HTML 400) above the project's upload cap.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_ENVELOPE_BYTES:
        return None
    body = request.read(MAX_ENVELOPE_BYTES + 1)
    return None if len(body) > MAX_ENVELOPE_BYTES else body


@csrf_exempt
def soap_endpoint(request: HttpRequest) -> HttpResponse:
    """``/OkPayAPI``: GET for the WSDL and schemas, POST for SOAP calls."""
    if request.method in ("GET", "HEAD"):
        return _serve_get(request)
    if request.method != "POST":
        response = HttpResponse(status=405, content_type="text/plain")
        response["Allow"] = "GET, POST"
        return response
    body = _read_body(request)
    if body is None:
        logger.info("emulator refused an envelope over %d bytes", MAX_ENVELOPE_BYTES)
        response = fault_response(TOO_LARGE, server=False)
    else:
        response = handle(
            body,
            soap_action=request.META.get("HTTP_SOAPACTION"),
            remote_addr=request.META.get("REMOTE_ADDR"),
            in_process=request.META.get(IN_PROCESS_ENVIRON_KEY),
        )
    server_fault = getattr(response, "okpay_fault_server", None)
    if server_fault is not None:
        # The access line of our HTTP server: INFO for the caller's mistakes.
        set_access_log_level(
            request.META, logging.WARNING if server_fault else logging.INFO
        )
    return response
