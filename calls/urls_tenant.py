"""Voice-agent endpoints on a tenant host (the tenant comes from the host): the same routes as
on the platform host, where the tenant comes from the call's agent / number."""

from calls.urls_public import urlpatterns

__all__ = ["urlpatterns"]
