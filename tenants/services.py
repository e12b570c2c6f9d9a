"""Tenant lifecycle: the public and template tenants, creating businesses, roles, suspension."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from askpro import outbox
from askpro.errors import DomainError
from tenants import routing_cache
from tenants.errors import InvalidTenantData, TemplateSchemaMissing, TenantAlreadyExists
from tenants.models import Domain, Tenant, TenantCreation, validate_time_zone
from tenants.roles import PLATFORM_ROLES, TENANT_ROLE_EXCLUSIONS, TENANT_ROLES

logger = logging.getLogger(__name__)

CREATE_TENANT_EFFECT = "tenants.create_tenant"  # handled in tenants/listeners.py

RESERVED_SLUGS = {"public", "template", "www", "admin", "api", "static", "media", "platform"}
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    admin_username: str
    admin_password: str | None


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def ensure_public_tenant() -> Tenant:
    """The row that represents the platform itself (public schema) and its host names."""
    with schema_context(get_public_schema_name()):
        tenant, _created = Tenant.objects.get_or_create(
            schema_name=get_public_schema_name(),
            defaults={"name": "AskPro Platform", "slug": "public"},
        )
        for host in settings.PUBLIC_HOSTS:
            Domain.objects.get_or_create(
                domain=host, defaults={"tenant": tenant, "is_primary": host == settings.PUBLIC_HOSTS[0]}
            )
        sync_roles(tenant)
        return tenant


def ensure_template_tenant() -> Tenant:
    """The migrated schema every new tenant is cloned from; created once by full migration."""
    with schema_context(get_public_schema_name()):
        template = Tenant.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
        if template is None:
            template = Tenant(
                schema_name=settings.TENANT_BASE_SCHEMA,
                name="Template",
                slug="template",
                is_template=True,
            )
            # The base schema does not exist yet, so this save migrates it the slow way (once).
            template.save(verbosity=0)
        elif not schema_exists(template.schema_name):
            template.create_schema(check_if_exists=True, verbosity=0)
        sync_roles(template)
        return template


def _validate_new_tenant(name: str, slug: str, domain: str, time_zone: str, locale: str) -> None:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("A name is required.")
    if not _SLUG.match(slug) or "--" in slug:
        errors["slug"] = _("Use 1-50 lower-case letters, digits and single hyphens.")
    elif slug in RESERVED_SLUGS:
        errors["slug"] = _("This slug is reserved.")
    if not re.match(r"^[a-z0-9.-]+$", domain) or domain.startswith("."):
        errors["domain"] = _("Use a plain host name such as salon-schmidt.localhost.")
    try:
        validate_time_zone(time_zone)
    except Exception:
        errors["time_zone"] = _("Unknown time zone.")
    if locale not in Tenant.Locale.values:
        errors["locale"] = _("Unsupported language.")
    if errors:
        raise InvalidTenantData(_("The tenant data is invalid."), details={"fields": errors})


def validate_new_tenant(
    *, name: str, slug: str, domain: str | None, time_zone: str = "Europe/Berlin", locale: str = "de",
    pending: bool = False,
) -> tuple[str, str]:
    """Check a new tenant's data before anything is created; returns the normalised (slug, domain).

    Raises :class:`InvalidTenantData` (``details["fields"]``: field -> message) or
    :class:`TenantAlreadyExists` for a taken slug, schema or domain; with ``pending`` also for
    one an unfinished :class:`TenantCreation` is about to take.
    """
    slug = slug.strip().lower()
    domain = (domain or f"{slug}.{settings.BASE_DOMAIN}").strip().lower()
    _validate_new_tenant(name, slug, domain, time_zone, locale)
    schema_name = schema_name_for(slug)
    with schema_context(get_public_schema_name()):
        fields: dict[str, str] = {}
        if Tenant.objects.filter(Q(slug=slug) | Q(schema_name__iexact=schema_name)).exists():
            fields["slug"] = _("A tenant with the slug %(slug)s already exists.") % {"slug": slug}
        if Domain.objects.filter(domain=domain).exists():
            fields["domain"] = _("The domain %(domain)s already belongs to a tenant.") % {"domain": domain}
        if pending:
            unfinished = TenantCreation.objects.exclude(state__in=TenantCreation.FINISHED)
            if "slug" not in fields and unfinished.filter(slug=slug).exists():
                fields["slug"] = _("A tenant with the slug %(slug)s is being created right now.") % {"slug": slug}
            if "domain" not in fields and unfinished.filter(domain=domain).exists():
                fields["domain"] = _("A tenant with the domain %(domain)s is being created right now.") % {"domain": domain}
        if fields:
            raise TenantAlreadyExists(
                _("A tenant with slug %(slug)s or domain %(domain)s already exists.")
                % {"slug": slug, "domain": domain},
                details={"slug": slug, "domain": domain, "fields": fields},
            )
    return slug, domain


def create_tenant(
    *,
    name: str,
    slug: str,
    domain: str | None = None,
    admin_email: str | None = None,
    admin_password: str | None = None,
    locale: str = "de",
    time_zone: str = "Europe/Berlin",
    progress: Callable[[str], None] | None = None,
) -> CreatedTenant:
    """Create a business tenant by cloning the template schema, with its host and an admin user.

    Refuses duplicates (slug, schema or domain) with :class:`TenantAlreadyExists`; the template
    must exist, otherwise django-tenants would silently fall back to slow migrations.
    ``progress`` hears each step as it starts (``TenantCreation.State``: "schema", "owner").
    """
    slug, domain = validate_new_tenant(name=name, slug=slug, domain=domain, time_zone=time_zone, locale=locale)
    schema_name = schema_name_for(slug)
    report = progress or (lambda _state: None)

    with schema_context(get_public_schema_name()):
        if not schema_exists(settings.TENANT_BASE_SCHEMA):
            raise TemplateSchemaMissing()

        report(TenantCreation.State.SCHEMA)
        tenant = Tenant(
            schema_name=schema_name, name=name.strip(), slug=slug, locale=locale, time_zone=time_zone
        )
        _create_schema_and_save(tenant, domain)

    username, password = None, None
    if admin_email:
        report(TenantCreation.State.OWNER)
        username, password = create_tenant_user(
            tenant, email=admin_email, role="admin", password=admin_password
        )
    logger.info("tenant created: %s (%s)", tenant.slug, tenant.schema_name)
    return CreatedTenant(tenant=tenant, admin_username=username or "", admin_password=password)


def _create_schema_and_save(tenant: Tenant, domain: str) -> None:
    """The tenant's schema from a spare copy (a rename) or the template's script, in the same
    transaction as its rows; django-tenants' own clone only where pg_dump is missing."""
    from tenants import schema_pool

    try:
        with transaction.atomic():
            claimed = schema_pool.claim(tenant.schema_name)
            if not claimed:
                schema_pool.clone_template(tenant.schema_name)
            tenant.auto_create_schema = False
            tenant.save(verbosity=0)
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    except FileNotFoundError:  # no pg_dump on this machine: the slow, always-available path
        logger.warning("pg_dump not found: cloning %s with django-tenants", tenant.schema_name)
        tenant.auto_create_schema = True
        tenant.save(verbosity=0)
        with transaction.atomic():
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
        return
    if claimed and settings.ASKPRO_SCHEMA_POOL_SIZE > 0:
        transaction.on_commit(_queue_pool_refill)


def _queue_pool_refill() -> None:
    from tenants.tasks import refill_schema_pool

    try:
        refill_schema_pool.delay()
    except Exception:  # the broker is down: beat refills the pool within a minute anyway
        logger.warning("could not queue the schema pool refill", exc_info=True)


def create_tenant_user(
    tenant: Tenant, *, email: str, role: str, password: str | None = None, name: str = ""
) -> tuple[str, str | None]:
    """Create (or find) a staff login in the tenant's schema. Returns (username, new password)."""
    if role not in TENANT_ROLES:
        raise InvalidTenantData(_("Unknown role %(role)s.") % {"role": role})
    User = get_user_model()
    email = email.strip().lower()
    with schema_context(tenant.schema_name), transaction.atomic():
        user = User.objects.filter(username=email).first()
        if user is not None:
            return email, None
        password = password or secrets.token_urlsafe(12)
        first, _sep, last = name.partition(" ")
        user = User.objects.create_user(
            username=email, email=email, password=password, is_staff=True,
            first_name=first, last_name=last,
        )
        user.groups.add(Group.objects.get(name=role))
    return email, password


def create_operator(*, email: str, password: str | None = None, superuser: bool = False) -> tuple[str, str | None]:
    """A platform operator login in the public schema."""
    User = get_user_model()
    email = email.strip().lower()
    with schema_context(get_public_schema_name()), transaction.atomic():
        if User.objects.filter(username=email).exists():
            return email, None
        password = password or secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=email, email=email, password=password, is_staff=True, is_superuser=superuser
        )
        user.groups.add(Group.objects.get(name="operator"))
    return email, password


def sync_roles(tenant: Tenant) -> None:
    """(Re)create the default groups of a schema with exactly the permissions their rules give."""
    is_public = tenant.schema_name == get_public_schema_name()
    roles = PLATFORM_ROLES if is_public else TENANT_ROLES
    exclusions = {} if is_public else TENANT_ROLE_EXCLUSIONS
    with schema_context(tenant.schema_name), transaction.atomic():
        for role, rules in roles.items():
            group, _created = Group.objects.get_or_create(name=role)
            query = Q(pk__in=[])
            for app_label, actions in rules.items():
                actions_q = Q()
                for action in actions:
                    actions_q |= Q(codename__startswith=f"{action}_")
                query |= Q(content_type__app_label=app_label) & actions_q
            permissions = Permission.objects.filter(query)
            for excluded in exclusions.get(role, set()):
                app_label, model = excluded.split(".")
                permissions = permissions.exclude(content_type__app_label=app_label, content_type__model=model)
            group.permissions.set(permissions)


def set_tenant_status(tenant: Tenant, status: str, reason: str = "") -> Tenant:
    """Suspend or reactivate a tenant; a suspended tenant's host refuses requests."""
    if status not in Tenant.Status.values:
        raise InvalidTenantData(_("Unknown status %(status)s.") % {"status": status})
    with schema_context(get_public_schema_name()), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        locked.status = status
        locked.suspended_reason = reason if status == Tenant.Status.SUSPENDED else ""
        locked.save(update_fields=["status", "suspended_reason", "updated_at"])
        # Every process's cached tenants and voice routes are stale once this commits.
        transaction.on_commit(routing_cache.bump)
    from tenants.middleware import forget_cached_tenants

    forget_cached_tenants()
    return locked


# --- creating a tenant from the platform admin (a worker runs it) -------------------------------


def request_tenant_creation(
    *,
    name: str,
    slug: str,
    domain: str | None = None,
    admin_email: str = "",
    admin_password: str = "",
    locale: str = "de",
    time_zone: str = "Europe/Berlin",
    requested_by: str = "",
) -> TenantCreation:
    """Validate a new tenant now and store the job a worker runs through :func:`create_tenant`
    (an outbox effect stored with the job). Bad input or a taken slug/domain raise before anything is stored."""
    slug, domain = validate_new_tenant(name=name, slug=slug, domain=domain, time_zone=time_zone, locale=locale,
                                       pending=True)
    with schema_context(get_public_schema_name()), transaction.atomic():
        job = TenantCreation.objects.create(
            name=name.strip(), slug=slug, domain=domain, admin_email=admin_email.strip().lower(),
            admin_password=admin_password, locale=locale, time_zone=time_zone, requested_by=requested_by,
        )
        # Owed to a worker in the same transaction (the outbox): Redis down or a lost message
        # delays the creation, never drops it (run_tenant_creation is safe to run again).
        outbox.enqueue(CREATE_TENANT_EFFECT, key=f"tenant-creation:{job.pk}", payload={"job_id": job.pk})
    logger.info("tenant creation %s requested by %s: %s", job.pk, requested_by, slug)
    return job


def _set_creation_state(job_id: int, state: str) -> None:
    TenantCreation.objects.filter(pk=job_id).update(state=state, updated_at=timezone.now())


def _finish_creation(job_id: int, state: str, **fields: object) -> None:
    now = timezone.now()
    TenantCreation.objects.filter(pk=job_id).update(state=state, finished_at=now, updated_at=now, **fields)


def run_tenant_creation(job_id: int) -> TenantCreation:
    """The worker's part: create the job's tenant with :func:`create_tenant` (as ``tenant_create``
    does), recording each step on the job; a refusal is stored as the German reason.

    Safe to run again: a finished job is left alone, and a job a killed worker left after its
    schema step picks up the tenant it created and only adds the owner login.
    """
    with schema_context(get_public_schema_name()), translation.override("de"):
        job = TenantCreation.objects.get(pk=job_id)
        if job.finished:
            return job
        try:
            ensure_template_tenant()
            existing = Tenant.objects.filter(slug=job.slug).first()
            if existing is not None and job.state != TenantCreation.State.QUEUED:
                tenant, username, password = existing, "", None
                if job.admin_email:
                    _set_creation_state(job.pk, TenantCreation.State.OWNER)
                    username, password = create_tenant_user(existing, email=job.admin_email, role="admin",
                                                            password=job.admin_password or None)
            else:
                created = create_tenant(
                    name=job.name, slug=job.slug, domain=job.domain, admin_email=job.admin_email or None,
                    admin_password=job.admin_password or None, locale=job.locale, time_zone=job.time_zone,
                    progress=lambda state: _set_creation_state(job.pk, state),
                )
                tenant, username, password = created.tenant, created.admin_username, created.admin_password
        except DomainError as exc:
            logger.warning("tenant creation %s refused: %s", job.pk, exc.code)
            _finish_creation(job.pk, TenantCreation.State.FAILED, error_code=exc.code, error=str(exc.message),
                             admin_password="")
        except Exception as exc:
            logger.exception("tenant creation %s failed", job.pk)
            _finish_creation(job.pk, TenantCreation.State.FAILED, error_code="UNEXPECTED_ERROR",
                             error=_("Unexpected error: %(error)s") % {"error": type(exc).__name__},
                             admin_password="")
        else:
            # A password the operator typed is known to them; a generated one is shown once.
            shown = password if password and not job.admin_password else ""
            job.admin_password = shown
            job.save(update_fields=["admin_password"])
            _finish_creation(job.pk, TenantCreation.State.DONE, tenant=tenant, admin_username=username or "")
        return TenantCreation.objects.get(pk=job.pk)


def reveal_owner_password(job_id: int) -> str:
    """The generated owner password of a finished job, once: it is erased as it is read."""
    with schema_context(get_public_schema_name()), transaction.atomic():
        job = TenantCreation.objects.select_for_update().get(pk=job_id)
        if job.state != TenantCreation.State.DONE or job.password_shown or not job.admin_password:
            return ""
        password = job.admin_password
        job.admin_password, job.password_shown = "", True
        job.save(update_fields=["admin_password", "password_shown", "updated_at"])
    return password
