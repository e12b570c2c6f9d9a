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
TENANT_ROLE_EXCLUSIONS: dict[str, set[str]] = {
    "staff": {"appointments.apikey", "appointments.policyconfiguration", "calls.voicesettings"},
    "receptionist": {"appointments.apikey", "appointments.policyconfiguration", "calls.voicesettings",
                     "notifications.notificationsettings"},
    "manager": {"appointments.apikey"},
}
