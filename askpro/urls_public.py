"""URLs of the platform host (public schema): platform admin, health, incoming webhooks."""

from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView

from askpro import health
from askpro.admin_sites import platform_admin_site

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}askpro/favicon.svg", permanent=True)),
    path("api/health", health.health, name="health"),
    path("api/health/detailed", health.health_detailed, name="health-detailed"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", platform_admin_site.urls),
    path("", include("tenants.urls_public")),
    path("", include("integrations.urls_public")),
    path("", include("calls.urls_public")),
    path("", include("billing.urls_public")),
    path("", include("notifications.urls_public")),
    # MEDIA_ROOT (invoice PDFs) is never served as files, in no mode: invoices and receipts are
    # downloaded through the admins' views, which check the tenant and the role.
]

handler404 = "askpro.request_frame.not_found"
handler500 = "askpro.request_frame.server_error"
