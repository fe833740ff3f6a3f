"""What every admin of the project needs: a confirmation page for a destructive action, read-only
registers of records that only services write, and the service's refusal shown to the officer.

Used by retention's admin and, next, by the request workflow's: an admin action or view never
changes state itself, it confirms, then calls a service and shows what the service said.
"""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse


class ReadOnlyAdminMixin:
    """A register written by services only: viewable (with the view permission), never edited
    or deleted through a form."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def confirm_action(modeladmin, request, queryset, *, title, question, action, objects):
    """Django's intermediate page for a destructive action: nothing happens until confirmed.

    The action calls this when `request.POST.get("confirmed") != "yes"` and returns its response.
    """
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "objects": objects,
        "queryset": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def is_confirmed(request) -> bool:
    return request.POST.get("confirmed") == "yes"
