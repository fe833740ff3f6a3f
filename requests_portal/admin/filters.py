"""The queue's filters: open requests first, late, due today, closed this month, by officer."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import CLOSED_STATES, OPEN_STATES, State
from ..selectors import due_today_q, late_q, officers
from . import display


class StateFilter(admin.SimpleListFilter):
    """The queue opens on the open requests (what is due first, not what closed years ago); a
    search looks everywhere unless a state is chosen."""

    title = gettext_lazy("status")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("all", _("semua, termasuk yang ditutup")), ("closed", _("semua yang ditutup")), *State.choices]

    def choices(self, changelist):
        yield {
            "selected": self.value() in (None, "open"),
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("semua yang terbuka"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "open" or (value is None and not request.GET.get("q")):
            return queryset.filter(state__in=OPEN_STATES)
        if value == "closed":
            return queryset.filter(state__in=CLOSED_STATES)
        if value in State.values:
            return queryset.filter(state=value)
        return queryset


class YesNoFilter(admin.SimpleListFilter):
    def lookups(self, request, model_admin):
        return (("yes", _("ya")), ("no", _("tidak")))

    def condition(self):
        raise NotImplementedError

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.condition())
        if self.value() == "no":
            return queryset.exclude(self.condition())
        return queryset


class LateFilter(YesNoFilter):
    title = gettext_lazy("terlambat")
    parameter_name = "late"

    def condition(self):
        return late_q(timezone.now())


class DueTodayFilter(YesNoFilter):
    title = gettext_lazy("jatuh tempo hari ini")
    parameter_name = "due_today"

    def condition(self):
        return due_today_q(timezone.now())


class ClosedThisMonthFilter(admin.SimpleListFilter):
    title = gettext_lazy("ditutup")
    parameter_name = "closed"

    def lookups(self, request, model_admin):
        return (("this_month", _("bulan ini")),)

    def queryset(self, request, queryset):
        if self.value() == "this_month":
            start = display.local(timezone.now()).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            return queryset.filter(closed_at__gte=start)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    """Me, nobody, or one of the officers (not every user of the site: one short query)."""

    title = gettext_lazy("petugas")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        choices = [(str(pk), name) for pk, name in officers().values_list("pk", "username")]
        return [("me", _("saya")), ("none", _("belum ditugaskan")), *choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset
