"""A small GraphQL endpoint: JSON in, JSON out, the request as context.

graphene-django is not a dependency, so this view does what the storefront
and the demo need and no more:

* ``POST`` with ``application/json`` ``{"query", "variables", "operationName"}``
  (a form-encoded body with the same keys works too). ``GET`` is refused:
  queries that change nothing still go through ``POST``, so one CSRF rule
  covers everything.
* Answers ``200`` with ``{"data", "errors"}`` when the query ran (errors carry
  ``extensions.code``), ``400`` for a body or document that cannot run.
* The schema is the view's ``schema`` keyword (from the URLconf), else the
  ``OKPAY_GRAPHQL_SCHEMA`` setting (dotted path), else
  :data:`okpay_gateway.graphql.schema.schema`.

**CSRF.** The view is ``csrf_exempt`` so API clients without cookies can call
it, and runs Django's own CSRF check itself whenever the request is signed in
through the session (the only case with ambient authority a forged
cross-site request could borrow). A signed-in browser sends the
``X-CSRFToken`` header as with any Django form post.

**Logging.** graphql-core 2 logs every resolver exception (permission errors
included) with a traceback on ``graphql.execution.executor``; Saleor-style
deployments on graphene 2 set that logger to ``CRITICAL``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from . import compat

logger = logging.getLogger(__name__)

SCHEMA_SETTING = "OKPAY_GRAPHQL_SCHEMA"


def _schema(schema: Any) -> Any:
    if schema is not None:
        return import_string(schema) if isinstance(schema, str) else schema
    path = getattr(settings, SCHEMA_SETTING, None)
    if path:
        return import_string(path)
    from .schema import schema as default_schema

    return default_schema


def _error(message: str, status: int, code: str = "BAD_REQUEST") -> JsonResponse:
    return JsonResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status=status
    )


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF verdict for a session-authenticated request, else None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    checker = CsrfViewMiddleware(lambda req: HttpResponse())
    checker.process_request(request)
    return checker.process_view(request, None, (), {})


def _read_body(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, ValueError):
            return None
        return body if isinstance(body, dict) else None
    body = {key: request.POST.get(key) for key in ("query", "operationName")}
    variables = request.POST.get("variables")
    if variables:
        try:
            body["variables"] = json.loads(variables)
        except ValueError:
            return None
    return body


@csrf_exempt
def graphql_view(request: HttpRequest, schema: Any = None) -> HttpResponse:
    """Execute one GraphQL operation for ``request``."""
    if request.method != "POST":
        response = _error(
            "Send GraphQL operations with POST.", 405, "METHOD_NOT_ALLOWED"
        )
        response["Allow"] = "POST"
        return response
    rejected = _csrf_failure(request)
    if rejected is not None:
        return _error("CSRF verification failed.", 403, "CSRF_FAILED")
    body = _read_body(request)
    if body is None:
        return _error("The body must be a JSON object.", 400)
    query = body.get("query")
    variables = body.get("variables") or {}
    if not isinstance(query, str) or not query.strip():
        return _error("Give a query.", 400)
    if not isinstance(variables, dict):
        return _error("variables must be an object.", 400)
    result = compat.execute(
        _schema(schema),
        query,
        variables=variables,
        operation_name=body.get("operationName") or None,
        context=request,
    )
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [compat.format_error(error) for error in result.errors]
    # No data at all means the document did not validate or parse.
    status = 400 if result.data is None and result.errors else 200
    return JsonResponse(payload, status=status)
