"""Default roles (Django groups) and the permissions each one carries.

Rules are written as (app label, permission actions); a rule applies to every model of the app,
so roles stay right as apps add models. ``sync_roles`` re-applies them after migrations.
"""

from __future__ import annotations

ALL = ("view", "add", "change", "delete")

TENANT_BUSINESS_APPS = ("appointments", "calls", "notifications", "calcom")

TENANT_ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "admin": {
        **{app: ALL for app in TENANT_BUSINESS_APPS},
        "auth": ALL,
        "billing": ("view", "add"),
        "privacy": ("view", "add", "change"),
        "integrations": ("view",),
        "tenants": ("view",),
        # Login security: see and lift lockouts, turn off a lost authenticator app.
        "axes": ("view", "delete"),
        "otp_totp": ("view", "delete"),
    },
    "manager": {
        **{app: ALL for app in TENANT_BUSINESS_APPS},
        "auth": ("view",),
        "billing": ("view",),
        "privacy": ("view", "add", "change"),
    },
    "staff": {
        "appointments": ("view", "change"),
        "calls": ("view",),
        "notifications": ("view",),
    },
    "receptionist": {
        "appointments": ("view", "add", "change"),
        "calls": ("view", "change"),
        "notifications": ("view",),
    },
}

PLATFORM_ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "operator": {
        "tenants": ALL,
        "integrations": ALL,
        "billing": ALL,
        "auth": ("view",),
        "axes": ("view", "delete"),
        "otp_totp": ("view", "delete"),
    },
}

# Models a role must not touch even though its app rule would allow it (app_label.model).
# CRM thresholds and customer merges (with their undo) are the owner's and manager's business.
TENANT_ROLE_EXCLUSIONS: dict[str, set[str]] = {
    "staff": {"appointments.apikey", "appointments.policyconfiguration", "calls.voicesettings",
              "appointments.crmsettings", "appointments.customermerge"},
    "receptionist": {"appointments.apikey", "appointments.policyconfiguration", "calls.voicesettings",
                     "notifications.notificationsettings", "appointments.crmsettings", "appointments.customermerge"},
    "manager": {"appointments.apikey"},
}

# --- the admin page matrix ------------------------------------------------------------------
# Which admin pages a role may open. Django's model permissions (the rules above) decide, narrowed
# by what an admin page offers at all: records written only by services or providers cannot be
# added, changed or deleted through the admin, whatever the role. tests/admin/test_role_matrix.py
# visits every admin URL per role and compares the status codes with this matrix.

ADMIN_PAGES: dict[str, tuple[str, ...]] = {
    # page kind: the permissions of which any one opens it
    "changelist": ("view", "change"),
    "add": ("add",),
    "change": ("view", "change"),
    "history": ("view", "change"),
    "delete": ("delete",),
}

# app_label.model: the actions its admin never offers (for every role, in both admins).
ADMIN_NEVER: dict[str, tuple[str, ...]] = {
    "appointments.appointment": ("delete",),
    "appointments.appointmentmodification": ("add", "change", "delete"),
    "appointments.customerjourneytransition": ("add", "change"),
    "appointments.recurringseries": ("add",),
    "appointments.dataexport": ("add", "change", "delete"),
    "appointments.customermerge": ("add", "delete"),  # written by appointments.merge; "change" only undoes
    "calcom.bookingsync": ("add", "change", "delete"),
    "calcom.driftrecord": ("add",),
    "calcom.bookingtombstone": ("add", "change"),
    "calls.call": ("add", "delete"),
    "calls.functioncallresult": ("add",),
    "billing.transaction": ("add", "change", "delete"),
    "billing.usagerecord": ("add", "change", "delete"),
    "billing.platformcost": ("add", "change", "delete"),
    "billing.monthlycostreport": ("add", "change", "delete"),
    "billing.topup": ("add", "change", "delete"),
    "billing.stripeinvoice": ("add", "change", "delete"),
    "billing.billingrun": ("change", "delete"),  # "add" starts a run in the billing workers
    "billing.commissionrecord": ("add", "change", "delete"),
    "billing.invoicehold": ("add", "change", "delete"),
    "billing.invoice": ("add", "delete"),
    "billing.billingaccount@tenant": ("add", "change", "delete"),
    "integrations.webhookevent": ("add", "change"),
    "notifications.notificationdelivery": ("add", "delete"),
    "tenants.tenant": ("delete",),  # "add" is the create-tenant form (a worker runs it)
    "tenants.tenantcreation": ("add", "change", "delete"),  # job rows: written by the form and the worker
    "privacy.privacyauditentry": ("add", "change", "delete"),
    "privacy.deletionrequest": ("delete",),
    "privacy.retentionpolicy": ("delete",),
}

# Admin actions with their own URL (askpro.admin_dialogs dialogs and detail links), per
# (app_label.model[@site], url path): the model permission that opens them. The role matrix test
# opens each one per role and checks that every dialog action of both admins is declared here.
ADMIN_ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("appointments.appointment", "reschedule"): ("appointments.appointment", "change"),
    ("appointments.appointment", "cancel"): ("appointments.appointment", "change"),
    ("appointments.customer", "book"): ("appointments.appointment", "add"),
    ("appointments.customer", "message"): ("appointments.customer", "change"),
    ("appointments.customer", "note"): ("appointments.customer", "change"),
    ("appointments.customer", "journey"): ("appointments.customer", "change"),
    ("calls.call", "create-appointment"): ("appointments.appointment", "add"),
    ("calls.call", "link-customer"): ("calls.call", "change"),
    ("billing.billingaccount@tenant", "topup"): ("billing.topup", "add"),
}


def admin_action_allowed(role: str, model_label: str, path: str, *, platform: bool = False) -> bool:
    """Whether ``role`` may open the declared admin action ``path`` of ``model_label``."""
    site_key = f"{model_label}@{'platform' if platform else 'tenant'}"
    target = ADMIN_ACTIONS.get((site_key, path)) or ADMIN_ACTIONS.get((model_label, path))
    if target is None:
        raise KeyError(f"undeclared admin action {model_label} {path}")
    needed_model, permission = target
    return permission in role_permissions(role, needed_model, platform=platform)


# One row per tenant: "add" only while none exists.
ADMIN_SINGLETONS = {"appointments.crmsettings", "calls.voicesettings", "notifications.notificationsettings",
                    "calcom.calcomconnection", "privacy.retentionpolicy"}


def role_permissions(role: str, model_label: str, *, platform: bool = False) -> set[str]:
    """The model permissions (view/add/change/delete) the role's group carries for the model."""
    roles = PLATFORM_ROLES if platform else TENANT_ROLES
    if role not in roles:
        raise KeyError(role)
    if not platform and model_label in TENANT_ROLE_EXCLUSIONS.get(role, set()):
        return set()
    app_label = model_label.split(".")[0]
    return set(roles[role].get(app_label, ()))


def admin_page_allowed(role: str, model_label: str, page: str, *, platform: bool = False,
                       row_exists: bool = False) -> bool:
    """Whether ``role`` may open the admin page (``ADMIN_PAGES`` kind) of ``model_label``."""
    held = role_permissions(role, model_label, platform=platform)
    site_key = f"{model_label}@{'platform' if platform else 'tenant'}"
    never = set(ADMIN_NEVER.get(model_label, ())) | set(ADMIN_NEVER.get(site_key, ()))
    if page == "add" and model_label in ADMIN_SINGLETONS and row_exists:
        return False
    offered = held - never
    if page in ("changelist", "change", "history"):
        # A page the admin shows read-only still opens with the change permission alone.
        return bool(held & {"view", "change"})
    return bool(offered & set(ADMIN_PAGES[page]))


# --- branch scoping (django-guardian) ---------------------------------------------------------
# A login of these roles can be limited to branches: an object permission ``work_in_branch`` per
# Branch (guardian's table in the tenant schema), set on the tenant admin's user page. A login of
# another role (admin = owner, manager) or a superuser sees every branch; a login of these roles
# with no branch assigned is unscoped, as before. appointments/access.py applies it everywhere.
BRANCH_PERMISSION = "appointments.work_in_branch"
BRANCH_SCOPABLE_ROLES = ("staff", "receptionist")
# Admin pages whose rows belong to a branch: for a login limited to branches, another branch's rows
# are missing from the list and export, and their change and history pages answer 404.
BRANCH_SCOPED_ADMIN_MODELS = (
    "appointments.appointment",
    "appointments.appointmentmodification",
    "appointments.recurringseries",
    "notifications.notificationdelivery",
)
