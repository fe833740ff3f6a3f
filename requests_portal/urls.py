from django.urls import path

from . import downloads, preferences, views

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
    path("permintaan/unduh/<str:token>/", downloads.package_download, name="package_download"),
    path("permintaan/<slug:right>/", views.request_form, name="request_form"),
    path("kebijakan/", preferences.policy, name="policy"),
    path("kebijakan/<str:version>/", preferences.policy_version, name="policy_version"),
    path("preferensi/", preferences.preferences_start, name="preferences"),
    path("preferensi/kode/", preferences.preferences_code, name="preferences_code"),
    path("preferensi/kirim-ulang/", preferences.preferences_resend, name="preferences_resend"),
    path("preferensi/pilihan/", preferences.preferences_choices, name="preferences_choices"),
    path("preferensi/keluar/", preferences.preferences_end, name="preferences_end"),
    path("berhenti/<str:token>/", preferences.unsubscribe, name="unsubscribe"),
]
