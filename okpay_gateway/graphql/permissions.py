"""Who may see and do what.

* Staff (``user.is_staff``) see every contract and subscription and may
  charge and cancel contracts.
* A signed-in customer sees their own contracts and subscriptions and may
  cancel their own subscriptions.
* Anonymous requests see nothing of either (``PERMISSION_DENIED``).
"""

from __future__ import annotations

from typing import Any

from .errors import PermissionDenied


def requestor(info: Any) -> Any:
    """The signed-in user of the request, or None."""
    user = getattr(info.context, "user", None)
    return user if user is not None and user.is_authenticated else None


def is_staff(user: Any) -> bool:
    return bool(user is not None and user.is_active and user.is_staff)


def require_user(info: Any) -> Any:
    user = requestor(info)
    if user is None:
        raise PermissionDenied("Sign in to see this.")
    return user


def visible(queryset: Any, user: Any) -> Any:
    """``queryset`` (with a ``customer`` field) narrowed to what ``user`` may see."""
    if is_staff(user):
        return queryset
    return queryset.filter(customer=user)
