"""Every difference between graphene 2.1.9 (Saleor's pin) and graphene 3.x.

The rest of :mod:`okpay_gateway.graphql` is written against the API subset
both versions share and calls these helpers where they disagree:

* ``schema.execute``: both accept ``context_value``, ``variable_values`` and
  ``operation_name`` (:func:`execute`).
* Resolver errors: graphene 2 wraps them in ``GraphQLLocatedError``, graphene 3
  in ``GraphQLError``; both keep ``original_error`` (:func:`original_error`).
* Error JSON: ``graphql.error.format_error(e)`` in 2, ``e.formatted`` in 3
  (:func:`format_error`, which adds our ``extensions.code``).
* Enum arguments arrive as the enum *value* in 2 and as the Python enum member
  in 3 (:func:`enum_value`). Enum *results* may be plain values in both.
* Invalid scalar input: ``parse_value`` returns ``None`` in 2 and ``Undefined``
  in 3 (:data:`INVALID`). Literal nodes are ``StringValue``/``IntValue`` in 2
  and ``StringValueNode``/``IntValueNode`` in 3 (:func:`literal_value`);
  ``parse_literal`` gets a second ``variables`` argument in 3.
* Schema printing: graphene 2 drops descriptions and always prints a
  ``schema {}`` block; graphene 3 prints block-string descriptions and omits
  the block for default root names.

Because the two printers disagree, :func:`print_schema` prints the schema
from an introspection query with one printer of our own, so the committed
snapshot (``tests/graphql/schema.graphql``) is the same under both versions.
"""

from __future__ import annotations

import json
from typing import Any

import graphene

GRAPHENE_MAJOR = int(graphene.__version__.split(".", 1)[0])

if GRAPHENE_MAJOR >= 3:
    from graphql import GraphQLError, Undefined

    INVALID: Any = Undefined
else:  # pragma: no cover - exercised by the graphene-2 test run
    from graphql.error import GraphQLError

    INVALID = None

__all__ = [
    "GRAPHENE_MAJOR",
    "INVALID",
    "GraphQLError",
    "enum_value",
    "execute",
    "format_error",
    "literal_value",
    "original_error",
    "print_schema",
]

_LITERAL_NODES = {
    "StringValue",
    "IntValue",
    "FloatValue",
    "StringValueNode",
    "IntValueNode",
    "FloatValueNode",
}


def execute(
    schema: graphene.Schema,
    query: str,
    *,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    context: Any = None,
) -> Any:
    """Run ``query``; the result has ``.data`` and ``.errors`` in both versions."""
    return schema.execute(
        query,
        variable_values=variables,
        operation_name=operation_name,
        context_value=context,
    )


def original_error(error: Exception) -> Exception | None:
    """The exception a resolver raised, behind graphql-core's wrapper."""
    return getattr(error, "original_error", None)


def format_error(error: Exception) -> dict[str, Any]:
    """The JSON form of one execution error, ``extensions.code`` included."""
    if GRAPHENE_MAJOR >= 3:
        formatted = dict(error.formatted)  # type: ignore[attr-defined]
    else:  # pragma: no cover - graphene 2
        from graphql.error import format_error as format_v2

        formatted = format_v2(error)
    extensions = dict(formatted.get("extensions") or {})
    cause = original_error(error)
    code = getattr(cause, "graphql_code", None) or getattr(error, "graphql_code", None)
    if code:
        extensions["code"] = code
    if extensions:
        formatted["extensions"] = extensions
    else:
        formatted.pop("extensions", None)
    return formatted


def enum_value(value: Any) -> Any:
    """The plain value of an enum argument (graphene 3 passes the member)."""
    return getattr(value, "value", value)


def literal_value(node: Any) -> str | None:
    """The text of a string, int or float literal; None for any other node."""
    if type(node).__name__ in _LITERAL_NODES:
        return node.value
    return None


# --- schema printing --------------------------------------------------------------

_TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
_INTROSPECTION = (
    "{ __schema { queryType { name } mutationType { name } types { kind name "
    "description fields(includeDeprecated: true) { name description "
    "isDeprecated deprecationReason args { name description defaultValue "
    "type { " + _TYPE_REF + " } } type { " + _TYPE_REF + " } } "
    "inputFields { name description defaultValue type { " + _TYPE_REF + " } } "
    "enumValues(includeDeprecated: true) { name description isDeprecated "
    "deprecationReason } } } }"
)
# Defined by the GraphQL spec, printed by neither printer.
_BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def _type_ref(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return _type_ref(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + _type_ref(ref["ofType"]) + "]"
    return ref["name"]


def _description(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    if "\n" not in text and '"' not in text:
        return [f'{indent}"""{text}"""']
    body = [f"{indent}{line}" if line else "" for line in text.split("\n")]
    return [f'{indent}"""', *body, f'{indent}"""']


def _deprecated(item: dict[str, Any]) -> str:
    if not item.get("isDeprecated"):
        return ""
    return f" @deprecated(reason: {json.dumps(item.get('deprecationReason') or '')})"


def _argument(arg: dict[str, Any]) -> str:
    text = f"{arg['name']}: {_type_ref(arg['type'])}"
    if arg.get("defaultValue") is not None:
        text += f" = {arg['defaultValue']}"
    return text


def _print_type(item: dict[str, Any]) -> list[str]:
    kind, name = item["kind"], item["name"]
    # Scalar descriptions are left out: graphene 2 and 3 word them differently.
    lines = [] if kind == "SCALAR" else _description(item.get("description"), "")
    if kind == "SCALAR":
        return [*lines, f"scalar {name}"]
    if kind == "ENUM":
        lines.append(f"enum {name} {{")
        for value in item["enumValues"]:
            lines += _description(value.get("description"), "  ")
            lines.append(f"  {value['name']}{_deprecated(value)}")
        return [*lines, "}"]
    if kind == "INPUT_OBJECT":
        lines.append(f"input {name} {{")
        for field in item["inputFields"]:
            lines += _description(field.get("description"), "  ")
            lines.append(f"  {_argument(field)}")
        return [*lines, "}"]
    keyword = "interface" if kind == "INTERFACE" else "type"
    lines.append(f"{keyword} {name} {{")
    for field in item["fields"]:
        lines += _description(field.get("description"), "  ")
        args = field.get("args") or []
        if any(arg.get("description") for arg in args):
            lines.append(f"  {field['name']}(")
            for arg in args:
                lines += _description(arg.get("description"), "    ")
                lines.append(f"    {_argument(arg)}")
            signature = "  )"
        elif args:
            signature = f"  {field['name']}({', '.join(_argument(a) for a in args)})"
        else:
            signature = f"  {field['name']}"
        lines.append(f"{signature}: {_type_ref(field['type'])}{_deprecated(field)}")
    return [*lines, "}"]


def print_schema(schema: graphene.Schema) -> str:
    """SDL of ``schema`` that reads the same under graphene 2 and 3.

    Types are sorted by name, fields keep their declaration order; built-in
    scalars and introspection types are left out.
    """
    result = execute(schema, _INTROSPECTION)
    if result.errors:
        raise RuntimeError(f"introspection failed: {result.errors[0]}")
    data = result.data["__schema"]
    blocks = ["schema {"]
    blocks.append(f"  query: {data['queryType']['name']}")
    if data.get("mutationType"):
        blocks.append(f"  mutation: {data['mutationType']['name']}")
    blocks.append("}")
    chunks = ["\n".join(blocks)]
    for item in sorted(data["types"], key=lambda t: t["name"]):
        if item["name"].startswith("__") or item["name"] in _BUILTIN_SCALARS:
            continue
        chunks.append("\n".join(_print_type(item)))
    return "\n\n".join(chunks) + "\n"
