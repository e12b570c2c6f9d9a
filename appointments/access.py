"""Branch scoping: which branches a back-office login works in, and the one filter every reader of
appointments applies (admin lists and pages, calendar, customer history, dashboards, exports).

The rule (declared in tenants/roles.py): owners (role admin), managers and superusers see every
branch. A staff member or receptionist holding the object permission ``work_in_branch`` on some
branches (django-guardian) sees only those; one with none is unscoped and sees all, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from appointments.models import Branch
from tenants.roles import BRANCH_PERMISSION, BRANCH_SCOPABLE_ROLES

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_askpro_branch_ids"


def visible_branch_ids(user: Any) -> frozenset[int] | None:
    """The ids of the branches ``user`` may see, or ``None`` for all of them (unscoped)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    if hasattr(user, _CACHE_ATTR):
        return getattr(user, _CACHE_ATTR)  # type: ignore[no-any-return]
    ids: frozenset[int] | None = None
    if not user.is_superuser:
        roles = set(user.groups.values_list("name", flat=True))
        if roles and roles <= set(BRANCH_SCOPABLE_ROLES):
            assigned = frozenset(
                get_objects_for_user(user, BRANCH_PERMISSION, Branch, use_groups=False,
                                     with_superuser=False, accept_global_perms=False).values_list("pk", flat=True)
            )
            ids = assigned or None
    setattr(user, _CACHE_ATTR, ids)
    return ids


def is_branch_scoped(user: Any) -> bool:
    return visible_branch_ids(user) is not None


def visible_branches(user: Any) -> QuerySet[Branch]:
    """The branches ``user`` may see (all of them for an unscoped login)."""
    return scope_by_branch(Branch.objects.all(), user, field="pk")


def scope_by_branch(qs: QuerySet[M], user: Any, *, field: str = "branch",
                    keep_unassigned: bool = False) -> QuerySet[M]:
    """``qs`` narrowed to rows whose ``field`` (a Branch foreign key or path) the user may see;
    with ``keep_unassigned`` rows without a branch (``field`` is null) stay too."""
    ids = visible_branch_ids(user)
    if ids is None:
        return qs
    lookup = field if field.endswith("pk") or field.endswith("_id") else f"{field}_id"
    condition = Q(**{f"{lookup}__in": ids})
    if keep_unassigned:
        condition |= Q(**{f"{lookup}__isnull": True})
    return qs.filter(condition)


def scope_appointments(qs: QuerySet[M], user: Any) -> QuerySet[M]:
    """Appointments (or any model with a ``branch`` foreign key) the user may see."""
    return scope_by_branch(qs, user, field="branch")


def may_see_branch(user: Any, branch_id: int | None) -> bool:
    ids = visible_branch_ids(user)
    return ids is None or branch_id in ids


def scope_cache_key(user: Any) -> str:
    """A suffix for per-tenant caches whose content depends on the scope ("all" or the ids)."""
    ids = visible_branch_ids(user)
    return "all" if ids is None else "b" + "-".join(str(i) for i in sorted(ids))


def assigned_branches(user: Any) -> QuerySet[Branch]:
    """The branches assigned to the user directly (what the user page shows)."""
    return get_objects_for_user(user, BRANCH_PERMISSION, Branch, use_groups=False, with_superuser=False,
                                accept_global_perms=False)


def assign_branches(user: Any, branches: Iterable[Branch]) -> None:
    """Limit the user to exactly ``branches`` (empty: no limit). Replaces earlier assignments."""
    wanted = {b.pk: b for b in branches}
    with transaction.atomic():
        current = {b.pk: b for b in assigned_branches(user)}
        for pk, branch in current.items():
            if pk not in wanted:
                remove_perm(BRANCH_PERMISSION, user, branch)
        for pk, branch in wanted.items():
            if pk not in current:
                assign_perm(BRANCH_PERMISSION, user, branch)
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


class BranchScopedAdminMixin:
    """For a ModelAdmin whose rows belong to a branch (``branch_scope_field``): lists, exports and
    actions see only the login's branches; another branch's change and history pages answer 404."""

    branch_scope_field = "branch"
    branch_scope_keep_unassigned = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_by_branch(super().get_queryset(request), request.user,  # type: ignore[misc]
                               field=self.branch_scope_field, keep_unassigned=self.branch_scope_keep_unassigned)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            raise Http404  # like a row that does not exist: no redirect that hints otherwise
        return obj
