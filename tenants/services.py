"""Tenant lifecycle: the public and template tenants, creating businesses, roles, suspension."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.errors import InvalidTenantData, TemplateSchemaMissing, TenantAlreadyExists
from tenants.models import Domain, Tenant, validate_time_zone
from tenants.roles import PLATFORM_ROLES, TENANT_ROLE_EXCLUSIONS, TENANT_ROLES

logger = logging.getLogger(__name__)

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


def create_tenant(
    *,
    name: str,
    slug: str,
    domain: str | None = None,
    admin_email: str | None = None,
    admin_password: str | None = None,
    locale: str = "de",
    time_zone: str = "Europe/Berlin",
) -> CreatedTenant:
    """Create a business tenant by cloning the template schema, with its host and an admin user.

    Refuses duplicates (slug, schema or domain) with :class:`TenantAlreadyExists`; the template
    must exist, otherwise django-tenants would silently fall back to slow migrations.
    """
    slug = slug.strip().lower()
    domain = (domain or f"{slug}.{settings.BASE_DOMAIN}").strip().lower()
    _validate_new_tenant(name, slug, domain, time_zone, locale)
    schema_name = schema_name_for(slug)

    with schema_context(get_public_schema_name()):
        clash = Tenant.objects.filter(Q(slug=slug) | Q(schema_name__iexact=schema_name)).first()
        if clash or Domain.objects.filter(domain=domain).exists():
            raise TenantAlreadyExists(
                _("A tenant with slug %(slug)s or domain %(domain)s already exists.")
                % {"slug": slug, "domain": domain},
                details={"slug": slug, "domain": domain},
            )
        if not schema_exists(settings.TENANT_BASE_SCHEMA):
            raise TemplateSchemaMissing()

        tenant = Tenant(
            schema_name=schema_name, name=name.strip(), slug=slug, locale=locale, time_zone=time_zone
        )
        _create_schema_and_save(tenant, domain)

    username, password = None, None
    if admin_email:
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
    from tenants.middleware import forget_cached_tenants

    forget_cached_tenants()
    return locked
