"""One dialog for every admin action that asks for input (reschedule, cancel, book from a call,
top up, message a customer, add a note).

An action is declared with :func:`dialog_action` on a ModelAdmin and listed in ``actions_detail``.
Its URL answers three ways:

- ``GET``: the dialog's form. Opened by ``askpro/static/askpro/dialog.js`` (header
  ``X-AskPro-Dialog``) it is only the partial ``admin/askpro_dialog.html``; opened directly (no
  JavaScript, the crawler) it is a whole admin page around the same partial.
- ``POST`` from the dialog: JSON. ``{"ok": true, "redirect": url}`` after the outcome was stored as
  a Django message (the script then loads ``url``: the dialog closes and the page shows the new
  state and the message); ``{"ok": false, "code", "message", "errors", "alternatives"}`` for a
  refusal, which the script shows inside the dialog, leaving every input as typed. Alternatives
  (free times a booking service offers) become buttons that fill ``alternatives_field``.
- ``POST`` without the script: the same outcome as a redirect, or the page again with the error.

The handler only parses the form and calls a service: it returns :class:`Done` or raises a
``DomainError``, whose code and German message are passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import wraps
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from unfold import widgets
from unfold.decorators import action

from askpro.errors import DomainError, NotFound

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DIALOG_HEADER = "X-AskPro-Dialog"
PARTIAL = "admin/askpro_dialog.html"
PAGE = "admin/askpro_dialog_page.html"


class DialogForm(forms.Form):
    """A dialog's form: knows the request and the object the action is about."""

    def __init__(self, *args: Any, request: HttpRequest, object_id: Any = None, **kwargs: Any) -> None:
        self.request = request
        self.object_id = object_id
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():  # unfold's look for plain form widgets
            widget = bound.widget
            if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            classes = (widgets.CHECKBOX_CLASSES if isinstance(widget, forms.CheckboxInput)
                       else widgets.SELECT_CLASSES if isinstance(widget, forms.Select)
                       else widgets.TEXTAREA_CLASSES if isinstance(widget, forms.Textarea)
                       else widgets.INPUT_CLASSES)
            widget.attrs["class"] = " ".join([*classes, widget.attrs.get("class", "")]).strip()


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's date-time picker; the value is wall time in the active (branch's) zone."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Done:
    """A successful dialog action: the message the reloaded page shows, and where to go."""

    message: str
    redirect: str = ""  # empty: back to the page the dialog was opened from
    level: int = messages.SUCCESS


@dataclass(frozen=True)
class Notice:
    """What the dialog tells before anything is submitted (e.g. the cancellation fee)."""

    text: str
    tone: str = "info"  # info, warning, danger
    blocks: bool = False  # the action cannot succeed: the confirming button is disabled


@dataclass(frozen=True)
class Dialog:
    title: StrOrPromise
    form_class: type[DialogForm]
    submit_label: StrOrPromise
    description: StrOrPromise = ""
    alternatives_field: str = ""  # the input an offered free time fills
    notice: Callable[[Any, HttpRequest, Any], Notice | None] | None = None
    initial: Callable[[Any, HttpRequest, Any], dict[str, Any]] | None = None
    danger: bool = False
    # The zone the form's times are typed and shown in (an appointment's branch); default: the site's.
    zone: Callable[[Any, HttpRequest, Any], tzinfo | None] | None = None


def alternative_choices(exc: DomainError) -> list[dict[str, str]]:
    """The free times a refusal offers, as input values (local wall time) and German labels."""
    details = exc.details if isinstance(exc.details, dict) else {}
    shown = []
    for alternative in details.get("alternatives") or []:
        try:
            starts = timezone.localtime(datetime.fromisoformat(alternative["starts_at"]))
        except (KeyError, TypeError, ValueError):
            continue
        shown.append({"value": f"{starts:%Y-%m-%dT%H:%M}", "label": f"{starts:%d.%m.%Y %H:%M}"})
    return shown


def _is_dialog(request: HttpRequest) -> bool:
    return request.headers.get(DIALOG_HEADER) == "1"


def _back(request: HttpRequest, model_admin: Any, object_id: Any) -> str:
    from django.urls import reverse

    opts = model_admin.model._meta
    if object_id is not None:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def _render(request: HttpRequest, model_admin: Any, dialog: Dialog, form: DialogForm, object_id: Any,
            error: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    notice = dialog.notice(model_admin, request, object_id) if dialog.notice else None
    context = {
        "dialog": dialog, "form": form, "notice": notice, "error": error, "action_url": request.path,
        "back_url": _back(request, model_admin, object_id),
    }
    if _is_dialog(request):
        return TemplateResponse(request, PARTIAL, context, status=status)
    obj = model_admin.get_object(request, object_id) if object_id is not None else None
    context |= {
        **model_admin.admin_site.each_context(request), "title": dialog.title, "opts": model_admin.model._meta,
        "original": obj,
    }
    return TemplateResponse(request, PAGE, context, status=status)


def _refusal(exc: DomainError) -> dict[str, Any]:
    return {"ok": False, "code": exc.code, "message": str(exc.message), "errors": {},
            "alternatives": alternative_choices(exc)}


def dialog_action(
    *, description: StrOrPromise, url_path: str, dialog: Dialog, permissions: list[str] | None = None,
    icon: str | None = None,
) -> Callable[[Callable[..., Done]], Any]:
    """Declare a detail action shown in the shared dialog; the handler gets the valid form."""

    def decorate(handler: Callable[..., Done]) -> Any:
        @wraps(handler)
        def view(model_admin: Any, request: HttpRequest, object_id: Any = None) -> HttpResponse:
            if (object_id is not None and getattr(model_admin, "branch_scope_field", None)
                    and not model_admin.get_queryset(request).filter(pk=object_id).exists()):
                # another branch's row (django-guardian scoping): as if it did not exist
                if _is_dialog(request):
                    return JsonResponse(_refusal(NotFound()), status=404)
                raise Http404
            zone = dialog.zone(model_admin, request, object_id) if dialog.zone else None
            with timezone.override(zone or timezone.get_current_timezone()):
                return answer(model_admin, request, object_id)

        def answer(model_admin: Any, request: HttpRequest, object_id: Any) -> HttpResponse:
            kwargs = {"request": request, "object_id": object_id}
            if request.method != "POST":
                initial = dialog.initial(model_admin, request, object_id) if dialog.initial else {}
                return _render(request, model_admin, dialog, dialog.form_class(initial=initial, **kwargs), object_id)
            form = dialog.form_class(request.POST, **kwargs)
            if not form.is_valid():
                # A rule over several fields has no field to stand beside: it becomes the message.
                message = " ".join(str(e) for e in form.non_field_errors()) or _("Please check your input.")
                if _is_dialog(request):
                    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
                    return JsonResponse({"ok": False, "code": "VALIDATION_ERROR", "message": message,
                                         "errors": errors, "alternatives": []}, status=400)
                return _render(request, model_admin, dialog, form, object_id, {"message": message, "alternatives": []})
            try:
                done = handler(model_admin, request, form, object_id)
            except DomainError as exc:
                refusal = _refusal(exc)
                if _is_dialog(request):
                    return JsonResponse(refusal, status=exc.http_status if exc.http_status >= 400 else 400)
                return _render(request, model_admin, dialog, form, object_id, refusal)
            messages.add_message(request, done.level, done.message)
            target = done.redirect or _back(request, model_admin, object_id)
            if _is_dialog(request):
                return JsonResponse({"ok": True, "redirect": target})
            return HttpResponseRedirect(target)

        wrapped = action(view, description=description, url_path=url_path, permissions=permissions, icon=icon,
                         attrs={"data-askpro-dialog": url_path})
        wrapped.askpro_dialog = dialog  # the crawler opens every dialog's form
        return wrapped

    return decorate
