from django.urls import re_path

from integrations import views

# Paths are what the providers are configured with; a trailing slash is tolerated (no redirects:
# providers treat a redirect as a failed delivery).
urlpatterns = [
    re_path(r"^webhooks/stripe/?$", views.stripe_webhook, name="webhook-stripe"),
    re_path(r"^billing/webhook/?$", views.stripe_webhook, name="webhook-stripe-legacy"),
    re_path(r"^webhooks/retell/?$", views.retell_webhook, name="webhook-retell"),
    re_path(r"^api/calcom/webhook/(?P<slug>[a-z0-9-]+)/?$", views.calcom_webhook_public_host, name="webhook-calcom-public"),
]
