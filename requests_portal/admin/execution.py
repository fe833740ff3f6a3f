"""The request page's execution: the "Jalankan" / "Lanjutkan" button and its confirmation page,
which shows what will be done (requests_portal.services.execution) before the task is queued."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retention.exceptions import RetentionError

from .. import services
from ..exceptions import RequestError
from ..models import DataSubjectRequest, RequestExecution, State
from ..services.common import EXECUTE
from ..services.execution import EXECUTABLE_RIGHTS


class ExecuteConfirmForm(forms.Form):
    confirm = forms.BooleanField(label=gettext_lazy("Saya sudah memeriksa apa yang akan dilakukan"), required=True)


class ExecutionAdminMixin:
    """For DataSubjectRequestAdmin: which requests can be run, the button, and the confirmation."""

    @staticmethod
    def _execution_step(obj):
        """'execute' for an approved request of a right carried out in steps (all but correction, which
        has its own section) not yet run, 'resume' for a failed one, else None."""
        if obj.right not in EXECUTABLE_RIGHTS:
            return None
        execution = RequestExecution.objects.filter(request=obj).only("state").first()
        if execution is None:
            return "execute" if obj.state == State.APPROVED else None
        return "resume" if execution.state == RequestExecution.State.FAILED else None

    def _execution_actions(self, request, obj) -> list[dict]:
        if not request.user.has_perm(EXECUTE):
            return []
        step = self._execution_step(obj)
        if step is None:
            return []
        label = _("Jalankan") if step == "execute" else _("Lanjutkan")
        return [{"name": step, "label": label,
                 "url": reverse("admin:requests_portal_datasubjectrequest_execute", args=[obj.pk])}]

    def execute_view(self, request, pk):
        """Run (or resume) an approved deletion: GET confirms with the dry-run counts, POST queues it."""
        if not request.user.has_perm(EXECUTE):
            raise PermissionDenied
        obj = get_object_or_404(DataSubjectRequest, pk=pk)
        page = reverse("admin:requests_portal_datasubjectrequest_change", args=[obj.pk])
        step = self._execution_step(obj)
        if step is None:
            self.message_user(request, _("Permintaan %(ref)s tidak dapat dijalankan sekarang.") % {"ref": obj.reference},
                              messages.WARNING)
            return redirect(page)
        label = _("Jalankan") if step == "execute" else _("Lanjutkan")
        if request.method == "POST":
            form = ExecuteConfirmForm(request.POST)
            if form.is_valid():
                try:
                    services.request_execution_queue(request_id=obj.pk, actor=request.user)
                except (RequestError, RetentionError) as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                else:
                    self.message_user(request, _("Pelaksanaan %(ref)s dijadwalkan; hasil setiap langkah tampil di "
                                                 "riwayat permintaan.") % {"ref": obj.reference}, messages.SUCCESS)
                    return redirect(page)
        else:
            form = ExecuteConfirmForm()
        try:
            preview = services.execution_preview(request_id=obj.pk, actor=request.user)
        except (RequestError, RetentionError) as exc:
            preview = [exc.message]
        context = {
            "preview": preview,
            **self.admin_site.each_context(request),
            "title": f"{label}: {obj.reference}", "submit_label": label, "obj": obj, "original": obj,
            "action": step, "form": form, "page": page, "opts": self.opts, "media": self.media + form.media,
            "waiting_for_dpo_name": "", "is_sensitive": False,
        }
        return TemplateResponse(request, "admin/requests_portal/datasubjectrequest/action.html", context)
