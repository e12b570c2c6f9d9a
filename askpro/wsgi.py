"""WSGI entry point: chunked bodies read with their length (askpro.request_frame), then the lean
webhook front (integrations.ingest) around Django's application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")
django_application = get_wsgi_application()

from askpro.request_frame import ChunkedBodies  # noqa: E402
from integrations.ingest import WebhookFront  # noqa: E402  (needs the apps loaded above)

application = ChunkedBodies(WebhookFront(django_application))
