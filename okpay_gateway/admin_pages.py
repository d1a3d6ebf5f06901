"""Shared behaviour of the merchant admin's pages (core and billing).

Kept apart from :mod:`okpay_gateway.admin` so the billing admin can use it
without importing the module that imports it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse


class ShowOnlyAdmin(admin.ModelAdmin):
    """A model whose change page only shows: no SAVE buttons, nothing to save.

    Every field is read-only, so a SAVE button would only pretend that
    something could be changed here.
    """

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)


def object_or_404(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str):
    """The admin's object for a URL id, or 404 for unknown and malformed ids.

    ``ModelAdmin.get_object`` unquotes the id and turns ids the primary key
    cannot hold (``abc``, ``1\\x00``, ``4242.0``) into None instead of
    letting the database lookup raise ``ValueError``.
    """
    obj = model_admin.get_object(request, admin.utils.unquote(object_id))
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} with id {object_id!r}.")
    return obj
