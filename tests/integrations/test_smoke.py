from tests.fixtures.integrations import body, post_retell, retell_event

from integrations.models import WebhookEvent


def test_smoke(public_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_retell(public_client, body(retell_event()))
    assert response.status_code == 204, response.content
    assert len(callbacks) == 1
    event = WebhookEvent.objects.get()
    assert event.event_key == "call_ended:call_abc123"
    from integrations.inbox import process_event
    assert process_event(event.pk) == "ignored"
