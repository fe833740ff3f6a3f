"""The controller's contact details, from the privacy policy, on every public page."""

CONTROLLER = {
    "name": "PT Amaya Perdana Kreasindo",
    "product": "JUNOPOS",
    "address_lines": [
        "Jl Mawar 01 NO 15 Perumahan Kranggan Permai",
        "Kel. Jatisampurna, Kec. Jatisampurna",
        "KOTA BEKASI 17433, Indonesia",
    ],
    "email": "customer@junopos.com",
    "whatsapp_display": "+62 858-9365-8473",
    "whatsapp_e164": "+6285893658473",
}


def controller(request):
    return {"controller": CONTROLLER}
