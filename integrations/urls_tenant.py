from django.urls import include, re_path

from integrations import views

urlpatterns = [
    re_path(r"^api/calcom/webhook/?$", views.calcom_webhook_tenant_host, name="webhook-calcom"),
    re_path(r"", include("integrations.calcom.api.urls")),
]
