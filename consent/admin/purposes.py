"""The ten purposes of the policy: corrected by the DPO with history, never added or deleted."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from retention.registry import Category

from ..models import Purpose
from ..services import purpose_update
from .common import categories_label


class PurposeForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("kategori data"), choices=Category.choices, widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Purpose
        fields = ("basis", "name_id", "name_en", "description_id", "description_en", "categories", "marketing")


@admin.register(Purpose)
class PurposeAdmin(SimpleHistoryAdmin):
    """The policy names ten purposes (migration 0003 seeds them, code names them by key): an
    officer corrects a name, a description, the basis or the categories; none is added or deleted."""

    form = PurposeForm
    list_display = ("number", "name_id", "basis", "categories_display", "marketing")
    list_display_links = ("number", "name_id")
    list_filter = ("basis", "marketing")
    ordering = ("number",)
    fields = ("key", "number") + PurposeForm.Meta.fields
    readonly_fields = ("key", "number")
    actions = None

    @admin.display(description=_("kategori data"))
    def categories_display(self, obj):
        return categories_label(obj.categories)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        purpose_update(purpose=obj, actor=request.user)
