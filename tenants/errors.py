from __future__ import annotations

from enum import StrEnum, unique

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, DomainError, ValidationFailed


@unique
class TenantErrorCode(StrEnum):
    """Every code the tenants app answers with, declared once; exception classes refer to these."""

    TENANT_ALREADY_EXISTS = "TENANT_ALREADY_EXISTS"
    TENANT_INVALID = "TENANT_INVALID"
    TEMPLATE_SCHEMA_MISSING = "TEMPLATE_SCHEMA_MISSING"


class TenantAlreadyExists(Conflict):
    code = TenantErrorCode.TENANT_ALREADY_EXISTS
    default_message = _("A tenant with this slug or domain already exists.")


class InvalidTenantData(ValidationFailed):
    code = TenantErrorCode.TENANT_INVALID


class TemplateSchemaMissing(DomainError):
    code = TenantErrorCode.TEMPLATE_SCHEMA_MISSING
    http_status = 503
    default_message = _("The tenant template schema is missing; run `manage.py migrate_schemas`.")
