from __future__ import annotations

import pytest

from calls.signatures import SignatureInvalid, sign, verify

NOW = 1700000000000


def test_the_official_test_vector_verifies():
    header = "v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e"

    verify(b'{"event":"call_ended"}', header, ["test-api-key"], now_ms=NOW)

    assert sign(b'{"event":"call_ended"}', "test-api-key", NOW) == header


def test_a_non_ascii_body_verifies_over_its_raw_bytes():
    body = '{"name":"Jürgen Größe"}'.encode()

    verify(body, sign(body, "k", NOW), ["k"], now_ms=NOW)


@pytest.mark.parametrize(("header", "reason"), [
    (None, "missing"),
    ("", "missing"),
    ("v=1700000000000", "malformed"),
    ("v=1700000000000,d=07024CABE7DD8F6D1C6E4A8324CA92C812E6AD4A7EE506C04F7E462E3321823E", "malformed"),
    ("v=1700000000000,d=07024cabe7", "malformed"),
    ("v=1700000000000;d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e", "malformed"),
    ("t=1700000000000,v1=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e", "malformed"),
    ("v=1700000000000,d=" + "0" * 64, "mismatch"),
])
def test_a_bad_header_is_refused_with_its_reason(header, reason):
    with pytest.raises(SignatureInvalid) as refused:
        verify(b'{"event":"call_ended"}', header, ["test-api-key"], now_ms=NOW)

    assert refused.value.args[0] == reason


@pytest.mark.parametrize("skew_ms", [300_001, -300_001])
def test_a_signature_older_or_newer_than_five_minutes_is_stale(skew_ms):
    body = b'{"event":"call_ended"}'

    with pytest.raises(SignatureInvalid) as refused:
        verify(body, sign(body, "k", NOW), ["k"], now_ms=NOW + skew_ms)

    assert refused.value.args[0] == "stale"


@pytest.mark.parametrize("skew_ms", [300_000, -300_000])
def test_a_signature_at_the_edge_of_the_window_is_accepted(skew_ms):
    body = b"{}"
    verify(body, sign(body, "k", NOW), ["k"], now_ms=NOW + skew_ms)


def test_a_re_serialised_body_does_not_verify():
    raw = b'{"event": "call_ended", "call": {"call_id": "c1"}}'
    header = sign(raw, "k", NOW)

    with pytest.raises(SignatureInvalid):
        verify(b'{"event":"call_ended","call":{"call_id":"c1"}}', header, ["k"], now_ms=NOW)


def test_any_of_the_tenant_or_platform_keys_may_sign_but_no_other():
    body = b"{}"
    verify(body, sign(body, "platform", NOW), ["tenant", "platform"], now_ms=NOW)

    with pytest.raises(SignatureInvalid) as refused:
        verify(body, sign(body, "someone-else", NOW), ["tenant", "platform"], now_ms=NOW)
    assert refused.value.args[0] == "mismatch"


def test_without_any_configured_key_nothing_verifies():
    with pytest.raises(SignatureInvalid) as refused:
        verify(b"{}", sign(b"{}", "", NOW), ["", ""], now_ms=NOW)

    assert refused.value.args[0] == "no_key"


def test_there_is_one_implementation_of_the_scheme_shared_with_the_webhook_inbox():
    from integrations.signatures import sign_retell, verify_retell

    body = '{"name":"Jürgen"}'.encode()

    verify_retell(body, sign(body, "k", NOW), "k", now_ms=NOW)
    verify(body, sign_retell(body, "k", NOW), ["k"], now_ms=NOW)


def test_a_stale_signature_is_stale_whichever_key_is_tried_first():
    body = b"{}"

    with pytest.raises(SignatureInvalid) as refused:
        verify(body, sign(body, "platform", NOW), ["tenant", "platform"], now_ms=NOW + 300_001)

    assert refused.value.args[0] == "stale"
