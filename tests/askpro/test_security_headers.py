"""Security headers on every response; the CSP's one exception is 'unsafe-eval' on the admin."""

from __future__ import annotations


def _directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def test_api_responses_carry_the_strict_policy_and_the_other_headers(public_client):
    response = public_client.get("/api/health")

    assert _directives(response["Content-Security-Policy"]) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Permissions-Policy"] == "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def test_the_admin_allows_eval_for_alpine_but_no_inline_scripts(salon_client):
    response = salon_client.get("/admin/login/")

    directives = _directives(response["Content-Security-Policy"])
    assert directives["script-src"] == "'self' 'unsafe-eval'"
    assert directives["frame-ancestors"] == "'none'"


def test_swagger_is_served_from_our_origin_without_inline_script(salon_client):
    page = salon_client.get("/api/docs/")
    script = salon_client.get("/api/docs/?script=")

    body = page.content.decode()
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in body
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body
    assert "<script>" not in body
    assert _directives(page["Content-Security-Policy"])["script-src"] == "'self'"
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
