"""The admin sidebar, grouped as the original system was, in order of daily use (unfold SIDEBAR).

``UNFOLD["SIDEBAR"]["navigation"]`` points at :func:`navigation`, called per request: the tenant
admin and the platform admin get their own groups; a page shows only when the user may view it
and its model is registered on that site; technical pages only for the tenant's admins (and
operators). A registered model that no group names lands in "Weitere", so nothing disappears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from askpro.admin_display import upper_first


@dataclass(frozen=True)
class Page:
    model: str  # app_label.model_name
    icon: str
    technical: bool = False
    title: Any = None  # default: the model's verbose_name_plural


CALENDAR_URL = "admin:appointments_appointment_calendar"

TENANT_GROUPS: list[tuple[Any, list[Page]]] = [
    (_("Calendar & appointments"), [
        Page("appointments.appointment", "event"),
        Page("appointments.recurringseries", "event_repeat"),
        Page("appointments.availabilityoverride", "event_busy"),
        Page("appointments.appointmentmodification", "history", technical=True),
    ]),
    (_("Customers (CRM)"), [
        Page("appointments.customer", "groups"),
        Page("appointments.customernote", "sticky_note_2"),
        Page("appointments.customerjourneytransition", "timeline"),
        Page("notifications.customercontactpreference", "contact_phone"),
        Page("appointments.customermerge", "merge"),
        Page("appointments.crmsettings", "tune"),
        Page("appointments.dataexport", "download", technical=True),
    ]),
    (_("Calls"), [
        Page("calls.call", "call"),
        Page("calls.callbackrequest", "phone_callback"),
        Page("calls.functioncallresult", "function", technical=True),
    ]),
    (_("Master data"), [
        Page("appointments.branch", "storefront"),
        Page("appointments.staff", "badge"),
        Page("appointments.service", "content_cut"),
        Page("appointments.workinghour", "schedule"),
        Page("appointments.policyconfiguration", "policy"),
    ]),
    (_("Billing"), [
        Page("billing.billingaccount", "account_balance_wallet"),
        Page("billing.transaction", "receipt_long"),
        Page("billing.topup", "add_card"),
        Page("billing.invoice", "request_quote"),
    ]),
    (_("Communication"), [
        Page("notifications.notificationtemplate", "edit_note"),
        Page("notifications.notificationconfiguration", "tune"),
        Page("notifications.notificationdelivery", "outgoing_mail"),
    ]),
    (_("Integrations"), [
        Page("calcom.calcomconnection", "link"),
        Page("calcom.eventtypemapping", "swap_horiz", technical=True),
        Page("calcom.staffmapping", "manage_accounts", technical=True),
        Page("appointments.apikey", "key", technical=True),
    ]),
    (_("Settings"), [
        Page("calls.voicesettings", "record_voice_over"),
        Page("notifications.notificationsettings", "notifications"),
        Page("auth.user", "person"),
        Page("auth.group", "shield_person", technical=True),
    ]),
    (_("Monitoring"), [
        Page("calcom.bookingsync", "sync", technical=True),
        Page("calcom.driftrecord", "difference"),
    ]),
    (_("Data protection"), [
        Page("privacy.deletionrequest", "person_remove"),
        Page("privacy.privacyauditentry", "verified_user"),
        Page("privacy.retentionpolicy", "auto_delete"),
    ]),
]

PLATFORM_GROUPS: list[tuple[Any, list[Page]]] = [
    (_("Tenants"), [
        Page("tenants.tenant", "apartment"),
        Page("tenants.tenantcreation", "add_business"),
        Page("tenants.domain", "language"),
        Page("tenants.phonenumber", "dialpad"),
        Page("tenants.voiceagent", "support_agent"),
    ]),
    (_("Billing"), [
        Page("billing.billingaccount", "account_balance_wallet"),
        Page("billing.billingrun", "play_circle"),
        Page("billing.invoice", "request_quote"),
        Page("billing.transaction", "receipt_long"),
        Page("billing.topup", "add_card"),
        Page("billing.stripeinvoice", "credit_card"),
        Page("billing.usagerecord", "data_usage"),
    ]),
    (_("Prices and partners"), [
        Page("billing.pricingplan", "sell"),
        Page("billing.bonustier", "redeem"),
        Page("billing.reseller", "handshake"),
        Page("billing.commissionrecord", "percent"),
    ]),
    (_("Costs"), [
        Page("billing.platformcost", "payments"),
        Page("billing.monthlycostreport", "monitoring"),
    ]),
    (_("Monitoring"), [
        Page("integrations.webhookevent", "inbox"),
    ]),
    (_("Settings"), [
        Page("auth.user", "person"),
        Page("auth.group", "shield_person"),
    ]),
]


def _site_and_groups(request: HttpRequest) -> tuple[Any, list[tuple[Any, list[Page]]], bool]:
    from django_tenants.utils import get_public_schema_name

    from askpro.admin_sites import platform_admin_site, tenant_admin_site

    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return platform_admin_site, PLATFORM_GROUPS, True
    return tenant_admin_site, TENANT_GROUPS, False


def sees_technical_pages(request: HttpRequest, *, platform: bool) -> bool:
    user = request.user
    if user.is_superuser:
        return True
    role = "operator" if platform else "admin"
    return user.groups.filter(name=role).exists()


def calendar_link() -> str:
    """The calendar view (branch ``calendar``), or the appointment list while it does not exist."""
    try:
        return reverse(CALENDAR_URL)
    except NoReverseMatch:
        return reverse("admin:appointments_appointment_changelist")


def navigation(request: HttpRequest) -> list[dict[str, Any]]:
    """Unfold's sidebar for this request: groups of the pages the user may open."""
    site, groups, platform = _site_and_groups(request)
    registered = {model._meta.label_lower: (model, model_admin) for model, model_admin in site._registry.items()}
    technical = sees_technical_pages(request, platform=platform)
    named = {page.model for _title, pages in groups for page in pages}
    others = [Page(label, "folder") for label in sorted(registered) if label not in named]
    result = []
    for title, pages in [*groups, (_("More"), others)]:
        items = []
        if not platform and title == TENANT_GROUPS[0][0] and "appointments.appointment" in registered:
            _model, model_admin = registered["appointments.appointment"]
            if model_admin.has_view_or_change_permission(request):
                items.append({"title": _("Calendar"), "icon": "calendar_month", "link": calendar_link()})
        for page in pages:
            if page.model not in registered or (page.technical and not technical):
                continue
            model, model_admin = registered[page.model]
            if not model_admin.has_view_or_change_permission(request):
                continue
            opts = model._meta
            items.append({
                "title": page.title or upper_first(opts.verbose_name_plural),
                "icon": page.icon,
                "link": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            })
        if items:
            result.append({"title": title, "separator": True, "collapsible": False, "items": items})
    return result
