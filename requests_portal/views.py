from django.shortcuts import render

from .rights import RIGHTS, data_categories


def home(request):
    return render(request, "portal/home.html", {"rights": RIGHTS, "categories": data_categories()})
