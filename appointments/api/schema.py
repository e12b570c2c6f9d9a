"""OpenAPI description of the API-key authentication (drf-spectacular extension)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "appointments.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant API key (ak_<prefix>_<secret>), created in the admin or with "
            "`manage.py api_key create --tenant <slug>`. Only valid on its tenant's host.",
        }


def composite_needs_a_service(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: a composite availability request names a service
    (``service_id``) or a non-empty list of ``services``, as the server requires."""
    schema = result.get("components", {}).get("schemas", {}).get("CompositeAvailabilityRequest")
    if schema is not None:
        schema["anyOf"] = [
            {"required": ["service_id"], "properties": {"service_id": {"type": "integer"}}},
            {"required": ["services"], "properties": {"services": {"type": "array", "minItems": 1}}},
        ]
    customer = result.get("components", {}).get("schemas", {}).get("CustomerInput")
    if customer is not None and "phone" in customer.get("properties", {}):
        # What JSON Schema can say of a number the server validates (phonenumbers): German mobile
        # numbers in E.164 are always accepted; others are checked by the server (400 PHONE_INVALID).
        customer["properties"]["phone"]["pattern"] = r"^(\+491(51|52|57|59|60|62|63|7[0-9])[0-9]{8})?$"
    booking = result.get("components", {}).get("schemas", {}).get("BookingRequest")
    if booking is not None:  # a booking names an existing customer or describes one
        booking["anyOf"] = [
            {"required": ["customer_id"], "properties": {"customer_id": {"type": "integer"}}},
            {"required": ["customer"], "properties": {"customer": {"anyOf": [  # with a name, phone or email
                {"required": [field], "properties": {field: {"type": "string", "pattern": r"\S"}}}
                for field in ("name", "phone", "email")
            ]}}},
        ]
    return result
