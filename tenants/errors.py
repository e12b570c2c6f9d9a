from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, DomainError, ValidationFailed


class TenantAlreadyExists(Conflict):
    code = "TENANT_ALREADY_EXISTS"
    default_message = _("A tenant with this slug or domain already exists.")


class InvalidTenantData(ValidationFailed):
    code = "TENANT_INVALID"


class TemplateSchemaMissing(DomainError):
    code = "TEMPLATE_SCHEMA_MISSING"
    http_status = 503
    default_message = _("The tenant template schema is missing; run `manage.py migrate_schemas`.")
