from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from askpro.crypto import EncryptedTextField


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Tenant(TenantMixin):
    """A business using AskPro (a salon, a practice); its data lives in its own schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    class Locale(models.TextChoices):
        DE = "de", _("German")
        EN = "en", _("English")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True, help_text=_("Short name used in host names and commands, e.g. salon-schmidt."))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    locale = models.CharField(_("language"), max_length=5, choices=Locale.choices, default=Locale.DE)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone])
    is_template = models.BooleanField(
        _("template"), default=False, editable=False,
        help_text=_("The migrated schema new tenants are cloned from. Not a business."),
    )
    suspended_reason = models.CharField(_("suspension reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def primary_domain(self) -> str | None:
        domain = self.domains.filter(is_primary=True).first()
        return domain.domain if domain else None


class Domain(DomainMixin):
    """A host name that resolves to a tenant (e.g. salon-schmidt.localhost)."""

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return self.domain


class PhoneNumber(models.Model):
    """A business phone number the voice agent answers; routes platform-wide calls to a tenant."""

    number = models.CharField(_("number"), max_length=32, unique=True, help_text=_("E.164, e.g. +4930123456789"))
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="phone_numbers")
    label = models.CharField(_("label"), max_length=100, blank=True)
    inbound_agent_id = models.CharField(
        _("override agent"), max_length=100, blank=True,
        help_text=_("Retell agent to use for inbound calls to this number instead of the default."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class VoiceAgent(models.Model):
    """A Retell agent id that belongs to one tenant."""

    agent_id = models.CharField(_("Retell agent id"), max_length=100, unique=True)
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="voice_agents")
    name = models.CharField(_("name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("voice agent")
        verbose_name_plural = _("voice agents")
        ordering = ["agent_id"]

    def __str__(self) -> str:
        return self.name or self.agent_id


class VoiceBlock(models.Model):
    """Calls to this tenant are refused while this row exists.

    A public state between apps: billing writes it (``tenants.voice.set_voice_block``) when the
    balance passes the credit limit and clears it when it is back; the calls app reads it
    (``tenants.voice.voice_block``) without knowing about billing.
    """

    class Reason(models.TextChoices):
        BALANCE_EXHAUSTED = "BALANCE_EXHAUSTED", _("The prepaid balance is used up")

    tenant = models.OneToOneField(
        Tenant, verbose_name=_("tenant"), primary_key=True, on_delete=models.CASCADE, related_name="voice_block",
    )
    reason = models.CharField(_("reason"), max_length=40, choices=Reason.choices)
    since = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("voice block")
        verbose_name_plural = _("voice blocks")

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.reason}"


class SpareSchema(models.Model):
    """A ready copy of the template schema, renamed to a new tenant's schema on creation
    (tenants/schema_pool.py). ``fingerprint`` names the template state it was copied from."""

    schema_name = models.CharField(_("schema"), max_length=63, unique=True)
    fingerprint = models.CharField(_("template fingerprint"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("spare schema")
        verbose_name_plural = _("spare schemas")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.schema_name


class TenantCreation(models.Model):
    """One "create a tenant" request from the platform admin, run by a worker: the job row the
    progress page reads (queued → schema → owner login → done, or failed with the reason)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SCHEMA = "schema", _("Creating the database schema")
        OWNER = "owner", _("Creating the owner login")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    FINISHED = (State.DONE, State.FAILED)

    name = models.CharField(_("name"), max_length=200)
    slug = models.CharField(_("slug"), max_length=60)
    domain = models.CharField(_("domain"), max_length=253)
    admin_email = models.EmailField(_("owner email"), blank=True)
    # The owner's first password, encrypted, until the progress page has shown it once.
    admin_password = EncryptedTextField(_("owner password"), blank=True)
    locale = models.CharField(_("language"), max_length=5, choices=Tenant.Locale.choices, default="de")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin")
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.QUEUED)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    error = models.TextField(_("reason"), blank=True)
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="creations")
    admin_username = models.CharField(_("owner login"), max_length=254, blank=True)
    password_shown = models.BooleanField(_("password shown"), default=False)
    requested_by = models.CharField(_("requested by"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("tenant creation")
        verbose_name_plural = _("tenant creations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def finished(self) -> bool:
        return self.state in self.FINISHED
