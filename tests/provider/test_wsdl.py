from __future__ import annotations

import importlib.util
import re
from decimal import Decimal
from pathlib import Path

import pytest
import zeep
from lxml import etree
from zeep.wsdl.bindings.soap import Soap11Binding

from okpay_gateway.provider.wsdl import (
    BINDING_QNAME,
    PLACEHOLDER_ADDRESS,
    SCHEMA_FILES,
    SCHEMA_NAMESPACES,
    SOAP_ACTION_PREFIX,
    WSDL_PATH,
)

from .canned import envelope, transaction_xml

REPO = Path(__file__).resolve().parents[2]
TNS = "https://api.okpay.com"
API = "http://schemas.datacontract.org/2004/07/OkPayAPI"
DC = "http://schemas.datacontract.org/2004/07/OkPayAPI.DataContract"
LINK = "http://schemas.datacontract.org/2004/07/OkPayLink.OkPayService"


def _doc():
    from tests.conftest import shared_doc

    return shared_doc("okpay-soap-api.md")


def _documented_operations() -> dict[str, list[str]]:
    """Operation -> parameter names, read from the tables of section 2 of the doc."""
    text = _doc().read_text(encoding="utf-8")
    section = text.split("## 2. Operations", 1)[1].split("## 3. ", 1)[0]
    operations: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*\*\*(\w+)\*\*[^|]*\|([^|]*)\|", line)
        if not match:
            continue
        name, params = match.group(1), match.group(2)
        names = [
            token for token in re.findall(r"`([^`]+)`", params) if ":" not in token
        ]
        if "(W, T)" in params:
            names = ["WalletID", "SecurityToken", *names]
        operations[name] = names
    return operations


@pytest.fixture(scope="module")
def client() -> zeep.Client:
    return zeep.Client(str(WSDL_PATH))


@pytest.fixture(scope="module")
def binding(client):
    return client.wsdl.bindings[BINDING_QNAME]


def test_doc_table_parse_finds_all_26_operations():
    """The doc's section 2 tables list the 26 operations of the union contract."""
    assert len(_documented_operations()) == 26


def test_wsdl_operations_match_doc_parameters_in_order(binding):
    """Every operation exists with exactly the documented parameters, in order."""
    documented = _documented_operations()
    assert set(binding._operations) == set(documented)
    for name, params in documented.items():
        element = binding._operations[name].input.body
        assert [child for child, _ in element.type.elements] == params, name


def test_wsdl_result_element_named_after_operation(binding):
    """Each response wrapper holds exactly one <Op>Result element in tns."""
    for name, operation in binding._operations.items():
        assert operation.output.body.qname == etree.QName(TNS, f"{name}Response")
        children = operation.output.body.type.elements
        assert [(child, el.qname.namespace) for child, el in children] == [
            (f"{name}Result", TNS)
        ]


def test_wsdl_soap_action_for_every_operation(binding):
    """SOAPAction is https://api.okpay.com/I_OkPayAPI/<Op> for all operations."""
    assert SOAP_ACTION_PREFIX == "https://api.okpay.com/I_OkPayAPI/"
    for name, operation in binding._operations.items():
        assert operation.soapaction == f"{SOAP_ACTION_PREFIX}{name}"
        assert operation.style == "document"


def test_wsdl_binding_is_soap11_service_and_port_names(client, binding):
    """SOAP 1.1 binding, service OkPayAPIImplementation, port BasicHttpBinding_I_OkPayAPI."""
    assert isinstance(binding, Soap11Binding)
    service = client.wsdl.services["OkPayAPIImplementation"]
    port = service.ports["BasicHttpBinding_I_OkPayAPI"]
    assert port.binding.name == etree.QName(BINDING_QNAME)
    assert port.binding_options["address"] == PLACEHOLDER_ADDRESS


def test_wsdl_charge_has_optional_sixth_receiver(binding):
    """PreapprovedPayment_Charge carries the optional 6th parameter Receiver."""
    elements = dict(
        binding._operations["PreapprovedPayment_Charge"].input.body.type.elements
    )
    assert list(elements)[5] == "Receiver"
    assert elements["Receiver"].min_occurs == 0
    assert elements["Receiver"].nillable is True


def test_wsdl_nillable_rules_reference_vs_value_types(binding):
    """Strings and complex types are nillable; decimals, longs, bools and enum results are not."""
    send = dict(binding._operations["Send_Money"].input.body.type.elements)
    assert send["Receiver"].nillable is True
    assert send["Amount"].nillable is False
    assert send["IsReceiverPaysFees"].nillable is False
    for op, nillable in [
        ("Account_Check", False),
        ("EX_Client_Check_Status", False),
        ("DebitCard_Prepay", False),
        ("Send_Money", True),
        ("Wallet_Get_Balance", True),
    ]:
        ((_, result),) = binding._operations[op].output.body.type.elements
        assert result.nillable is nillable, op


def test_wsdl_element_namespaces_follow_defining_schema(client):
    """Children live in the namespace of the schema that defines the parent's type."""
    contract = client.get_type(f"{{{DC}}}PreapprovedPayment")
    assert {el.qname.namespace for _, el in contract.elements} == {DC}
    client_type = dict(contract.elements)["Client"].type
    assert client_type.qname == etree.QName(API, "AccountInfo")
    assert {el.qname.namespace for _, el in client_type.elements} == {API}
    statuses = client.get_type(f"{{{API}}}ArrayOfPreapprovedPaymentStatuses")
    ((_, item),) = statuses.elements
    assert item.qname == etree.QName(API, "PreapprovedPaymentStatuses")
    balances = client.get_type(f"{{{API}}}ArrayOfBalance")
    ((_, item),) = balances.elements
    assert item.qname == etree.QName(API, "Balance")
    assert item.max_occurs == "unbounded"
    verification = dict(client_type.elements)["VerificationStatus"]
    assert verification.type.qname == etree.QName(LINK, "VerificationStatuses")


def test_wsdl_preapproved_get_reply_deserializes_with_dc_and_api_children(binding):
    """A WCF-style PreapprovedPayment_Get reply (dc members, api Client members) parses."""
    reply = envelope(
        f'<PreapprovedPayment_GetResponse xmlns="{TNS}">'
        f'<PreapprovedPayment_GetResult xmlns:a="{DC}" xmlns:b="{API}">'
        "<a:AvailableAmount>40.00</a:AvailableAmount>"
        "<a:Client><b:AccountID>22</b:AccountID><b:WalletID>OK222222222</b:WalletID></a:Client>"
        "<a:ID>5</a:ID><a:Status>Active</a:Status>"
        "</PreapprovedPayment_GetResult></PreapprovedPayment_GetResponse>"
    )
    result = binding._operations["PreapprovedPayment_Get"].process_reply(
        etree.fromstring(reply)
    )
    assert result.AvailableAmount == Decimal("40.00")
    assert result.Client.WalletID == "OK222222222"
    assert result.Status == "Active"


def test_wsdl_output_serialize_round_trips_through_deserialize(binding):
    """zeep's serializer output for Charge (what the emulator does) parses back identically."""
    operation = binding._operations["PreapprovedPayment_Charge"]
    reply = envelope(
        f'<PreapprovedPayment_ChargeResponse xmlns="{TNS}">'
        f'<PreapprovedPayment_ChargeResult xmlns:a="{API}">{transaction_xml()}</PreapprovedPayment_ChargeResult>'
        "</PreapprovedPayment_ChargeResponse>"
    )
    first = operation.process_reply(etree.fromstring(reply))
    serialized = operation.output.serialize(PreapprovedPayment_ChargeResult=first)
    again = operation.process_reply(serialized.content)
    assert again.Amount == Decimal("12.50")
    assert again.Receiver.WalletID == "OK111111111"
    receiver = serialized.content.find(f".//{{{API}}}Receiver/{{{API}}}WalletID")
    assert receiver is not None


def test_wsdl_operation_status_enumeration_values_annotated():
    """OperationStatus has WCF EnumerationValue 4/8/16/32 on Pending/Reversed/Hold/Completed."""
    root = etree.parse(str(SCHEMA_FILES["xsd2"])).getroot()
    xs = "{http://www.w3.org/2001/XMLSchema}"
    enum = root.find(f"{xs}simpleType[@name='OperationStatus']")
    values = {}
    for member in enum.iter(f"{xs}enumeration"):
        annotation = member.find(
            ".//{http://schemas.microsoft.com/2003/10/Serialization/}EnumerationValue"
        )
        values[member.get("value")] = (
            None if annotation is None else int(annotation.text)
        )
    assert values == {
        "None": None,
        "Error": None,
        "Canceled": None,
        "Pending": 4,
        "Reversed": 8,
        "Hold": 16,
        "Completed": 32,
    }


def test_schema_files_qualified_with_declared_namespaces():
    """Each xsdN file exists, is elementFormDefault=qualified and has its namespace."""
    assert sorted(SCHEMA_FILES) == ["xsd0", "xsd1", "xsd2", "xsd3", "xsd4"]
    for name, path in SCHEMA_FILES.items():
        root = etree.parse(str(path)).getroot()
        assert root.get("elementFormDefault") == "qualified"
        assert root.get("targetNamespace") == SCHEMA_NAMESPACES[name]
        for imported in root.iter("{http://www.w3.org/2001/XMLSchema}import"):
            assert (path.parent / imported.get("schemaLocation")).is_file()


def test_generated_files_match_generator_tables():
    """The committed WSDL/XSDs are exactly what tools/generate_wsdl.py produces."""
    spec = importlib.util.spec_from_file_location(
        "generate_wsdl", REPO / "tools" / "generate_wsdl.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
