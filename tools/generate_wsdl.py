"""Write our OkPayAPI WSDL and its five XSDs from the tables below.

The tables are a transcription of /work/shared/docs/okpay-soap-api.md
(sections 1-3, union contract G6). The generated files under
``okpay_gateway/provider/wsdl/`` are committed; rerun this script after
changing a table::

    python tools/generate_wsdl.py            # rewrite the files
    python tools/generate_wsdl.py --check    # exit 1 if the files are stale

Layout mirrors what WCF served (S4): ``xsd0`` = tns (operation wrappers),
``xsd1`` = Microsoft Serialization, ``xsd2`` = api, ``xsd3`` = link,
``xsd4`` = dc. Unlike WCF, the binding lives in ``tns`` (G7) and every
import carries a relative ``schemaLocation`` so zeep can load the set
from disk without network access. Two deliberate omissions: the port type
carries no ``wsaw:Action`` attributes (zeep would otherwise add WS-Addressing
headers to every request, which BasicHttpBinding never used) and the binding
references no HTTPS-only transport policy (the emulator is served over HTTP).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree

OUT_DIR = Path(__file__).resolve().parent.parent / "okpay_gateway" / "provider" / "wsdl"

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
TNS = "https://api.okpay.com"
API = "http://schemas.datacontract.org/2004/07/OkPayAPI"
DC = "http://schemas.datacontract.org/2004/07/OkPayAPI.DataContract"
LINK = "http://schemas.datacontract.org/2004/07/OkPayLink.OkPayService"
SER = "http://schemas.microsoft.com/2003/10/Serialization/"

PREFIXES = {"xs": XS, "tns": TNS, "api": API, "dc": DC, "link": LINK, "ser": SER}
SCHEMA_FILE = {
    TNS: "OkPayAPI.xsd0.xsd",
    SER: "OkPayAPI.xsd1.xsd",
    API: "OkPayAPI.xsd2.xsd",
    LINK: "OkPayAPI.xsd3.xsd",
    DC: "OkPayAPI.xsd4.xsd",
}
WSDL_FILE = "OkPayAPI.wsdl"
SOAP_ACTION_PREFIX = "https://api.okpay.com/I_OkPayAPI/"
# Never a real host: the client always binds to OkPaySettings.api_url and the
# emulator may substitute its own address when serving the document.
PLACEHOLDER_ADDRESS = "http://okpay-api.invalid/OkPayAPI"

VALUE_TYPES = {"xs:decimal", "xs:long", "xs:int", "xs:boolean"}

# --- enumerations (section 3.13), schema order -------------------------------
ENUMS: dict[str, tuple[str, ...]] = {
    "api:OperationStatus": (
        "None",
        "Error",
        "Canceled",
        "Pending",
        "Reversed",
        "Hold",
        "Completed",
    ),
    "api:SubscriptionCycleIntervals": ("Days", "Weeks", "Months", "Years"),
    "api:AddressTypes": ("Unset", "Legal", "Actual", "Postal"),
    "api:SubscriptionStatuses": (
        "Active",
        "Canceled",
        "Failed",
        "Expired",
        "Modified",
        "Suspended",
    ),
    "api:PreapprovedPaymentStatuses": ("Active", "Canceled", "Failed", "Expired"),
    "link:VerificationStatuses": ("Unverified", "Formal", "Verified"),
    "link:ClientStatus": (
        "Unregistered",
        "Registration",
        "Unverified",
        "Formal",
        "Verified",
        "Blocked",
    ),
}
# WCF EnumerationValue annotations on OperationStatus (the others are 0, 1, 2).
ENUM_VALUES = {
    "api:OperationStatus": {"Pending": 4, "Reversed": 8, "Hold": 16, "Completed": 32}
}

# --- complex types (sections 3.1-3.12), member order = schema order ---------
COMPLEX: dict[str, tuple[tuple[str, str], ...]] = {
    "api:Balance": (("Amount", "xs:decimal"), ("Currency", "xs:string")),
    "api:TransactionInfo": (
        ("Amount", "xs:decimal"),
        ("Comment", "xs:string"),
        ("Currency", "xs:string"),
        ("Date", "xs:string"),
        ("Fees", "xs:decimal"),
        ("ID", "xs:long"),
        ("Invoice", "xs:string"),
        ("Net", "xs:decimal"),
        ("OperationName", "xs:string"),
        ("Receiver", "api:AccountInfo"),
        ("Sender", "api:AccountInfo"),
        ("Status", "api:OperationStatus"),
    ),
    "api:AccountInfo": (
        ("AccountID", "xs:long"),
        ("Country_ISO", "xs:string"),
        ("Email", "xs:string"),
        ("Name", "xs:string"),
        ("VerificationStatus", "link:VerificationStatuses"),
        ("WalletID", "xs:string"),
    ),
    "api:HistoryInfo": (
        ("PageCount", "xs:int"),
        ("PageNumber", "xs:int"),
        ("PageSize", "xs:int"),
        ("TotalCount", "xs:int"),
        ("Transactions", "api:ArrayOfTransactionInfo"),
    ),
    "api:Withdrawal_Info": (
        ("Amount", "xs:decimal"),
        ("Currency", "xs:string"),
        ("ExchangeRate", "xs:decimal"),
        ("Fee", "xs:decimal"),
        ("Gross", "xs:decimal"),
        ("OperationID", "xs:long"),
        ("PaySystemTransactionID", "xs:string"),
        ("PaymentMethod", "xs:string"),
        ("PaymentMethodAmount", "xs:decimal"),
        ("Status", "api:OperationStatus"),
    ),
    "dc:Subscription": (
        ("Client", "api:AccountInfo"),
        ("Currency", "xs:string"),
        ("ID", "xs:long"),
        ("IsActive", "xs:boolean"),
        ("LastPaymentDateTime", "xs:string"),
        ("MerchantWalletID", "xs:string"),
        ("NextPaymentDateTime", "xs:string"),
        ("OutstandingBalance", "xs:decimal"),
        ("ReattemptAcum", "xs:boolean"),
        ("ReattemptDays", "xs:int"),
        ("RegularCount", "xs:int"),
        ("RegularCycle", "xs:int"),
        ("RegularInterval", "api:SubscriptionCycleIntervals"),
        ("RegularPaymentsDone", "xs:int"),
        ("RegularPrice", "xs:decimal"),
        ("RetryAt", "xs:string"),
        ("SetupPrice", "xs:decimal"),
        ("ShippingAddress", "dc:Address"),
        ("ShippingNeeded", "xs:boolean"),
        ("StartDateTime", "xs:string"),
        ("Status", "api:SubscriptionStatuses"),
        ("Title", "xs:string"),
        ("TrialCount", "xs:int"),
        ("TrialCycle", "xs:int"),
        ("TrialInterval", "api:SubscriptionCycleIntervals"),
        ("TrialPaymentsDone", "xs:int"),
        ("TrialPrice", "xs:decimal"),
        ("ValidUntil", "xs:string"),
    ),
    "dc:Address": (
        ("AddressLine", "xs:string"),
        ("City", "xs:string"),
        ("Country", "xs:string"),
        ("IsVerified", "xs:boolean"),
        ("Region", "xs:string"),
        ("Type", "api:AddressTypes"),
        ("ZipCode", "xs:string"),
    ),
    "dc:PreapprovedPayment": (
        ("AvailableAmount", "xs:decimal"),
        ("Client", "api:AccountInfo"),
        ("ClientPaysFee", "xs:boolean"),
        ("Currency", "xs:string"),
        ("EndDate", "xs:string"),
        ("ID", "xs:long"),
        ("Invoice", "xs:string"),
        ("LastPaymentDate", "xs:string"),
        ("MerchantWalletID", "xs:string"),
        ("PaymentsAmount", "xs:decimal"),
        ("PaymentsDone", "xs:int"),
        ("StartDate", "xs:string"),
        ("Status", "api:PreapprovedPaymentStatuses"),
        ("Title", "xs:string"),
    ),
}
# Array types: name -> item type (item element is named like the item type).
ARRAYS: dict[str, str] = {
    "api:ArrayOfBalance": "api:Balance",
    "api:ArrayOfTransactionInfo": "api:TransactionInfo",
    "api:ArrayOfSubscriptionStatuses": "api:SubscriptionStatuses",
    "api:ArrayOfPreapprovedPaymentStatuses": "api:PreapprovedPaymentStatuses",
    "dc:ArrayOfSubscription": "dc:Subscription",
    "dc:ArrayOfPreapprovedPayment": "dc:PreapprovedPayment",
}
# Order of the type definitions in each schema (section 1, "Schemas").
SCHEMA_ORDER: dict[str, tuple[str, ...]] = {
    API: (
        "api:ArrayOfBalance",
        "api:Balance",
        "api:TransactionInfo",
        "api:AccountInfo",
        "api:OperationStatus",
        "api:HistoryInfo",
        "api:ArrayOfTransactionInfo",
        "api:Withdrawal_Info",
        "api:SubscriptionCycleIntervals",
        "api:AddressTypes",
        "api:SubscriptionStatuses",
        "api:ArrayOfSubscriptionStatuses",
        "api:PreapprovedPaymentStatuses",
        "api:ArrayOfPreapprovedPaymentStatuses",
    ),
    LINK: ("link:VerificationStatuses", "link:ClientStatus"),
    DC: (
        "dc:Subscription",
        "dc:Address",
        "dc:ArrayOfSubscription",
        "dc:PreapprovedPayment",
        "dc:ArrayOfPreapprovedPayment",
    ),
}
SCHEMA_IMPORTS: dict[str, tuple[str, ...]] = {
    TNS: (API, LINK, DC),
    API: (SER, LINK),
    LINK: (),
    DC: (API,),
    SER: (),
}

# --- operations (section 2), port-type order of S1 with S7's insertion -------
W_T = (("WalletID", "xs:string"), ("SecurityToken", "xs:string"))
OPERATIONS: tuple[tuple[str, tuple[tuple[str, str], ...], str], ...] = (
    ("Get_Date_Time", (), "xs:string"),
    ("Wallet_Get_Balance", W_T, "api:ArrayOfBalance"),
    ("Wallet_Get_Currency_Balance", (*W_T, ("Currency", "xs:string")), "api:Balance"),
    (
        "Send_Money",
        (
            *W_T,
            ("Receiver", "xs:string"),
            ("Currency", "xs:string"),
            ("Amount", "xs:decimal"),
            ("Comment", "xs:string"),
            ("IsReceiverPaysFees", "xs:boolean"),
            ("Invoice", "xs:string"),
        ),
        "api:TransactionInfo",
    ),
    (
        "Transaction_Get",
        (*W_T, ("TxnID", "xs:long"), ("Invoice", "xs:string")),
        "api:TransactionInfo",
    ),
    (
        "Transaction_History",
        (
            *W_T,
            ("From", "xs:string"),
            ("Till", "xs:string"),
            ("PageSize", "xs:int"),
            ("PageNumber", "xs:int"),
        ),
        "api:HistoryInfo",
    ),
    (
        "DebitCard_Prepay",
        (
            *W_T,
            ("Email", "xs:string"),
            ("Currency", "xs:string"),
            ("IsCourierDelivery", "xs:boolean"),
            ("Comment", "xs:string"),
        ),
        "xs:long",
    ),
    ("Account_Check", (*W_T, ("Account", "xs:string")), "xs:long"),
    (
        "Withdraw_To_Ecurrency_Calculate",
        (
            *W_T,
            ("PaymentMethod", "xs:string"),
            ("Amount", "xs:decimal"),
            ("Currency", "xs:string"),
            ("FeesFromAmount", "xs:boolean"),
        ),
        "api:Withdrawal_Info",
    ),
    (
        "Withdraw_To_Ecurrency",
        (
            *W_T,
            ("PaymentMethod", "xs:string"),
            ("PaySystemAccount", "xs:string"),
            ("Amount", "xs:decimal"),
            ("Currency", "xs:string"),
            ("FeesFromAmount", "xs:boolean"),
            ("Invoice", "xs:string"),
        ),
        "api:Withdrawal_Info",
    ),
    (
        "Withdraw_To_Card_RU",
        (
            *W_T,
            ("CardNumber", "xs:string"),
            ("Amount", "xs:decimal"),
            ("Invoice", "xs:string"),
        ),
        "api:Withdrawal_Info",
    ),
    (
        "Withdraw_To_Card_RU_Full",
        (
            *W_T,
            ("CardNumber", "xs:string"),
            ("Amount", "xs:decimal"),
            ("FirstName", "xs:string"),
            ("LastName", "xs:string"),
            ("MidName", "xs:string"),
            ("Phone", "xs:string"),
            ("DocumentNumber", "xs:string"),
            ("SecodDocumentType", "xs:string"),  # sic: the contract's spelling (G6)
            ("SecondDocumentNumber", "xs:string"),
            ("Invoice", "xs:string"),
        ),
        "api:Withdrawal_Info",
    ),
    (
        "Withdraw_To_Card_World",
        (
            *W_T,
            ("CardNumber", "xs:string"),
            ("Currency", "xs:string"),
            ("Amount", "xs:decimal"),
            ("ExpiryMonth", "xs:string"),
            ("ExpiryYear", "xs:string"),
            ("Invoice", "xs:string"),
        ),
        "api:Withdrawal_Info",
    ),
    (
        "Withdraw_To_CryptoCurrency_Calculate",
        (
            *W_T,
            ("PaymentMethod", "xs:string"),
            ("Amount", "xs:decimal"),
            ("Currency", "xs:string"),
        ),
        "api:Withdrawal_Info",
    ),
    (
        "Withdraw_To_CryptoCurrency",
        (
            *W_T,
            ("PaymentMethod", "xs:string"),
            ("PaySystemAccount", "xs:string"),
            ("Amount", "xs:decimal"),
            ("Currency", "xs:string"),
            ("Invoice", "xs:string"),
        ),
        "api:Withdrawal_Info",
    ),
    ("EX_Account_Check", (*W_T, ("Account", "xs:string")), "xs:long"),
    ("EX_Client_Check_Status", (*W_T, ("Email", "xs:string")), "link:ClientStatus"),
    ("Subscription_Get", (*W_T, ("SubscriptionID", "xs:long")), "dc:Subscription"),
    (
        "Subscriptions_Filter",
        (
            *W_T,
            ("Title", "xs:string"),
            ("From", "xs:string"),
            ("Till", "xs:string"),
            ("Statuses", "api:ArrayOfSubscriptionStatuses"),
        ),
        "dc:ArrayOfSubscription",
    ),
    (
        "Subscription_Update",
        (*W_T, ("Sub", "dc:Subscription"), ("Comment", "xs:string")),
        "dc:Subscription",
    ),
    (
        "Subscription_Get_Operations",
        (*W_T, ("SubscriptionID", "xs:long")),
        "api:ArrayOfTransactionInfo",
    ),
    (
        "PreapprovedPayment_Get",
        (*W_T, ("PreapprovedPaymentID", "xs:long")),
        "dc:PreapprovedPayment",
    ),
    (
        "PreapprovedPayment_Charge",
        (
            *W_T,
            ("PreapprovedPaymentID", "xs:long"),
            ("Amount", "xs:decimal"),
            ("Comment", "xs:string"),
            ("Receiver", "xs:string"),  # 6th parameter, S6/S7 only (G6)
        ),
        "api:TransactionInfo",
    ),
    (
        "PreapprovedPayment_Cancel",
        (*W_T, ("PreapprovedPaymentID", "xs:long"), ("Comment", "xs:string")),
        "dc:PreapprovedPayment",
    ),
    (
        "PreapprovedPayment_Get_Operations",
        (*W_T, ("PreapprovedPaymentID", "xs:long")),
        "api:ArrayOfTransactionInfo",
    ),
    (
        "PreapprovedPayments_Filter",
        (
            *W_T,
            ("Title", "xs:string"),
            ("Invoice", "xs:string"),
            ("Client", "xs:string"),
            ("Statuses", "api:ArrayOfPreapprovedPaymentStatuses"),
        ),
        "dc:ArrayOfPreapprovedPayment",
    ),
)


def _is_nillable(type_ref: str) -> bool:
    """Reference types are nillable; value types and enumerations are not."""
    return type_ref not in VALUE_TYPES and type_ref not in ENUMS


def _xs(tag: str) -> str:
    return f"{{{XS}}}{tag}"


def _element(parent: etree._Element, name: str, type_ref: str, **extra: str) -> None:
    attrs = {"minOccurs": "0", **extra, "name": name}
    if _is_nillable(type_ref) or extra.get("nillable") == "true":
        attrs["nillable"] = "true"
    attrs["type"] = type_ref
    etree.SubElement(parent, _xs("element"), attrs)


def _schema(namespace: str) -> etree._Element:
    nsmap = {
        p: u
        for p, u in PREFIXES.items()
        if p == "xs" or u in (namespace, *SCHEMA_IMPORTS[namespace])
    }
    root = etree.Element(
        _xs("schema"),
        {"elementFormDefault": "qualified", "targetNamespace": namespace},
        nsmap=nsmap,
    )
    for imported in SCHEMA_IMPORTS[namespace]:
        etree.SubElement(
            root,
            _xs("import"),
            {"schemaLocation": SCHEMA_FILE[imported], "namespace": imported},
        )
    return root


def build_datacontract_schema(namespace: str) -> etree._Element:
    root = _schema(namespace)
    for qname in SCHEMA_ORDER[namespace]:
        local = qname.split(":", 1)[1]
        if qname in ENUMS:
            simple = etree.SubElement(root, _xs("simpleType"), {"name": local})
            restriction = etree.SubElement(
                simple, _xs("restriction"), {"base": "xs:string"}
            )
            values = ENUM_VALUES.get(qname, {})
            for member in ENUMS[qname]:
                enum = etree.SubElement(
                    restriction, _xs("enumeration"), {"value": member}
                )
                if member in values:
                    appinfo = etree.SubElement(
                        etree.SubElement(enum, _xs("annotation")), _xs("appinfo")
                    )
                    etree.SubElement(appinfo, f"{{{SER}}}EnumerationValue").text = str(
                        values[member]
                    )
        else:
            complex_type = etree.SubElement(root, _xs("complexType"), {"name": local})
            sequence = etree.SubElement(complex_type, _xs("sequence"))
            if qname in ARRAYS:
                item = ARRAYS[qname]
                _element(sequence, item.split(":", 1)[1], item, maxOccurs="unbounded")
            else:
                for name, type_ref in COMPLEX[qname]:
                    _element(sequence, name, type_ref)
        etree.SubElement(
            root,
            _xs("element"),
            {"name": local, "nillable": "true", "type": qname},
        )
    return root


def build_tns_schema() -> etree._Element:
    root = _schema(TNS)
    for op, params, result in OPERATIONS:
        request = etree.SubElement(root, _xs("element"), {"name": op})
        sequence = etree.SubElement(
            etree.SubElement(request, _xs("complexType")), _xs("sequence")
        )
        for name, type_ref in params:
            _element(sequence, name, type_ref)
        response = etree.SubElement(root, _xs("element"), {"name": f"{op}Response"})
        sequence = etree.SubElement(
            etree.SubElement(response, _xs("complexType")), _xs("sequence")
        )
        _element(sequence, f"{op}Result", result)
    return root


def build_serialization_schema() -> etree._Element:
    """The standard WCF serialization schema (primitive globals, char, duration, guid)."""
    root = etree.Element(
        _xs("schema"),
        {
            "attributeFormDefault": "qualified",
            "elementFormDefault": "qualified",
            "targetNamespace": SER,
        },
        nsmap={"xs": XS, "tns": SER},
    )
    primitives = (
        "anyType",
        "anyURI",
        "base64Binary",
        "boolean",
        "byte",
        "dateTime",
        "decimal",
        "double",
        "float",
        "int",
        "long",
        "QName",
        "short",
        "string",
        "unsignedByte",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
    )
    for name in primitives:
        etree.SubElement(
            root,
            _xs("element"),
            {"name": name, "nillable": "true", "type": f"xs:{name}"},
        )
    etree.SubElement(
        root, _xs("element"), {"name": "char", "nillable": "true", "type": "tns:char"}
    )
    char = etree.SubElement(root, _xs("simpleType"), {"name": "char"})
    etree.SubElement(char, _xs("restriction"), {"base": "xs:int"})
    etree.SubElement(
        root,
        _xs("element"),
        {"name": "duration", "nillable": "true", "type": "tns:duration"},
    )
    duration = etree.SubElement(root, _xs("simpleType"), {"name": "duration"})
    restriction = etree.SubElement(
        duration, _xs("restriction"), {"base": "xs:duration"}
    )
    etree.SubElement(
        restriction,
        _xs("pattern"),
        {"value": r"\-?P(\d*D)?(T(\d*H)?(\d*M)?(\d*(\.\d*)?S)?)?"},
    )
    etree.SubElement(
        restriction, _xs("minInclusive"), {"value": "-P10675199DT2H48M5.4775808S"}
    )
    etree.SubElement(
        restriction, _xs("maxInclusive"), {"value": "P10675199DT2H48M5.4775807S"}
    )
    etree.SubElement(
        root, _xs("element"), {"name": "guid", "nillable": "true", "type": "tns:guid"}
    )
    guid = etree.SubElement(root, _xs("simpleType"), {"name": "guid"})
    restriction = etree.SubElement(guid, _xs("restriction"), {"base": "xs:string"})
    etree.SubElement(
        restriction,
        _xs("pattern"),
        {
            "value": r"[\da-fA-F]{8}-[\da-fA-F]{4}-[\da-fA-F]{4}-[\da-fA-F]{4}-[\da-fA-F]{12}"
        },
    )
    etree.SubElement(
        root, _xs("attribute"), {"name": "FactoryType", "type": "xs:QName"}
    )
    etree.SubElement(root, _xs("attribute"), {"name": "Id", "type": "xs:ID"})
    etree.SubElement(root, _xs("attribute"), {"name": "Ref", "type": "xs:IDREF"})
    return root


def build_wsdl() -> etree._Element:
    def w(tag: str) -> str:
        return f"{{{WSDL}}}{tag}"

    def s(tag: str) -> str:
        return f"{{{SOAP}}}{tag}"

    root = etree.Element(
        w("definitions"),
        {"name": "OkPayAPIImplementation", "targetNamespace": TNS},
        nsmap={"wsdl": WSDL, "soap": SOAP, "xsd": XS, "tns": TNS},
    )
    types = etree.SubElement(root, w("types"))
    imports = etree.SubElement(
        types, _xs("schema"), {"targetNamespace": f"{TNS}/Imports"}
    )
    for namespace in (TNS, SER, API, LINK, DC):
        etree.SubElement(
            imports,
            _xs("import"),
            {"schemaLocation": SCHEMA_FILE[namespace], "namespace": namespace},
        )
    for op, _params, _result in OPERATIONS:
        for kind, element in (("Input", op), ("Output", f"{op}Response")):
            message = etree.SubElement(
                root, w("message"), {"name": f"I_OkPayAPI_{op}_{kind}Message"}
            )
            etree.SubElement(
                message, w("part"), {"name": "parameters", "element": f"tns:{element}"}
            )
    port_type = etree.SubElement(root, w("portType"), {"name": "I_OkPayAPI"})
    for op, _params, _result in OPERATIONS:
        operation = etree.SubElement(port_type, w("operation"), {"name": op})
        etree.SubElement(
            operation,
            w("input"),
            {"message": f"tns:I_OkPayAPI_{op}_InputMessage"},
        )
        etree.SubElement(
            operation,
            w("output"),
            {"message": f"tns:I_OkPayAPI_{op}_OutputMessage"},
        )
    binding = etree.SubElement(
        root,
        w("binding"),
        {"name": "BasicHttpBinding_I_OkPayAPI", "type": "tns:I_OkPayAPI"},
    )
    etree.SubElement(
        binding, s("binding"), {"transport": "http://schemas.xmlsoap.org/soap/http"}
    )
    for op, _params, _result in OPERATIONS:
        operation = etree.SubElement(binding, w("operation"), {"name": op})
        etree.SubElement(
            operation,
            s("operation"),
            {"soapAction": f"{SOAP_ACTION_PREFIX}{op}", "style": "document"},
        )
        for kind in ("input", "output"):
            etree.SubElement(
                etree.SubElement(operation, w(kind)), s("body"), {"use": "literal"}
            )
    service = etree.SubElement(root, w("service"), {"name": "OkPayAPIImplementation"})
    port = etree.SubElement(
        service,
        w("port"),
        {
            "name": "BasicHttpBinding_I_OkPayAPI",
            "binding": "tns:BasicHttpBinding_I_OkPayAPI",
        },
    )
    etree.SubElement(port, s("address"), {"location": PLACEHOLDER_ADDRESS})
    return root


def render() -> dict[str, bytes]:
    """File name -> bytes of every generated document."""
    documents = {
        WSDL_FILE: build_wsdl(),
        SCHEMA_FILE[TNS]: build_tns_schema(),
        SCHEMA_FILE[SER]: build_serialization_schema(),
        SCHEMA_FILE[API]: build_datacontract_schema(API),
        SCHEMA_FILE[LINK]: build_datacontract_schema(LINK),
        SCHEMA_FILE[DC]: build_datacontract_schema(DC),
    }
    header = b"<!-- Generated by tools/generate_wsdl.py from docs/okpay-soap-api.md; do not edit. -->\n"
    rendered = {}
    for name, tree in documents.items():
        body = etree.tostring(tree, pretty_print=True, encoding="utf-8")
        rendered[name] = b'<?xml version="1.0" encoding="utf-8"?>\n' + header + body
    return rendered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the files are stale"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, content in render().items():
        path = OUT_DIR / name
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                stale.append(name)
        else:
            path.write_bytes(content)
    if stale:
        print("stale:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
