from django.shortcuts import render

from .rights import RIGHTS, data_categories


def home(request):
    return render(request, "portal/home.html", {"rights": RIGHTS, "categories": data_categories()})


# Placeholders until the public pages land (the URL names are final: messages link to them).
def _not_yet(request, *args, **kwargs):
    from django.http import Http404

    raise Http404


request_sent = request_verify_link = request_status = request_status_code = _not_yet
request_status_resend = request_status_answer = request_status_withdraw = request_form = _not_yet
