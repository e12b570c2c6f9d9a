"""URLs of a tenant host (tenant schema): tenant admin, booking API, voice-agent tools."""

from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from askpro import health
from askpro.admin_sites import tenant_admin_site

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}askpro/favicon.svg", permanent=True)),
    path("api/health", health.health, name="health"),
    path("api/health/detailed", health.health_detailed, name="health-detailed"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", tenant_admin_site.urls),
    path("", include("tenants.urls_tenant")),
    path("", include("appointments.urls_tenant")),
    path("", include("integrations.urls_tenant")),
    path("", include("calls.urls_tenant")),
    path("", include("billing.urls_tenant")),
    path("", include("notifications.urls_tenant")),
]

handler404 = "askpro.request_frame.not_found"
handler500 = "askpro.request_frame.server_error"
