from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("permintaan/terkirim/", views.request_sent, name="request_sent"),
    path("permintaan/verifikasi/<str:token>/", views.request_verify_link, name="request_verify_link"),
    path("permintaan/status/<str:token>/", views.request_status, name="request_status"),
    path("permintaan/status/<str:token>/kode/", views.request_status_code, name="request_status_code"),
    path("permintaan/status/<str:token>/kirim-ulang/", views.request_status_resend, name="request_status_resend"),
    path("permintaan/status/<str:token>/jawab/", views.request_status_answer, name="request_status_answer"),
    path("permintaan/status/<str:token>/batalkan/", views.request_status_withdraw, name="request_status_withdraw"),
    path("permintaan/<slug:right>/", views.request_form, name="request_form"),
]
