from django import template
from django.conf import settings
from django.urls import translate_url

register = template.Library()


@register.simple_tag(takes_context=True)
def language_switch_next(context) -> str:
    """The current page's address, as Django's set_language view can translate it.

    With `prefix_default_language=False`, LocaleMiddleware activates the default language on
    every unprefixed path, /i18n/setlang/ included, so set_language resolves `next` in the
    default language: given /en/... it would not resolve it, and switching back to Indonesian
    would land on the English page again. The form therefore sends the current page's address
    in the default language, which set_language then translates to the language chosen.
    """
    request = context.get("request")
    if request is None:
        return "/"
    return translate_url(request.get_full_path(), settings.LANGUAGE_CODE)
