"""The fixed tables the demo data is drawn from: no randomness, no Faker, no database.

Cities (with their NIK region codes and coordinates), the five kinds of shop with their menus
and prices, banks and payment issuers, how sales spread over payment methods, line counts,
hours and weekdays, phone prefixes, IP ranges, app versions and devices, subscription plans.
Changing anything here changes the rows every seed gives.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
PPN_PERCENT = 11  # Pajak Pertambahan Nilai since April 2022

# city, NIK region code (province+regency), latitude, longitude, neighbourhoods for outlet names
CITIES = [
    ("Jakarta Selatan", "3174", -6.2615, 106.8106, ["Kemang", "Blok M", "Tebet", "Cipete"]),
    ("Jakarta Pusat", "3171", -6.1865, 106.8341, ["Menteng", "Cikini", "Senen", "Tanah Abang"]),
    ("Jakarta Barat", "3173", -6.1683, 106.7588, ["Kebon Jeruk", "Grogol", "Puri Indah"]),
    ("Bekasi", "3275", -6.2383, 106.9756, ["Summarecon", "Harapan Indah", "Galaxy", "Jatiasih"]),
    ("Depok", "3276", -6.4025, 106.7942, ["Margonda", "Sawangan", "Cinere"]),
    ("Tangerang Selatan", "3674", -6.2886, 106.7179, ["BSD", "Bintaro", "Pamulang"]),
    ("Bogor", "3271", -6.5971, 106.8060, ["Pajajaran", "Sempur", "Bogor Baru"]),
    ("Bandung", "3273", -6.9175, 107.6191, ["Dago", "Riau", "Buah Batu", "Setiabudi"]),
    ("Surabaya", "3578", -7.2575, 112.7521, ["Gubeng", "Darmo", "Rungkut", "Kenjeran"]),
    ("Yogyakarta", "3471", -7.7956, 110.3695, ["Malioboro", "Kotabaru", "Prawirotaman"]),
    ("Semarang", "3374", -6.9667, 110.4167, ["Simpang Lima", "Tembalang", "Candi"]),
    ("Malang", "3573", -7.9666, 112.6326, ["Ijen", "Soekarno-Hatta", "Dinoyo"]),
    ("Surakarta", "3372", -7.5755, 110.8243, ["Slamet Riyadi", "Manahan", "Laweyan"]),
    ("Medan", "1275", 3.5952, 98.6722, ["Kesawan", "Setiabudi", "Polonia"]),
    ("Palembang", "1671", -2.9761, 104.7754, ["Ilir Barat", "Demang", "Sako"]),
    ("Pekanbaru", "1471", 0.5071, 101.4478, ["Sudirman", "Panam", "Tampan"]),
    ("Makassar", "7371", -5.1477, 119.4327, ["Losari", "Panakkukang", "Tamalanrea"]),
    ("Manado", "7171", 1.4748, 124.8421, ["Boulevard", "Wanea", "Tikala"]),
    ("Balikpapan", "6471", -1.2379, 116.8529, ["Klandasan", "Sepinggan", "Gunung Sari"]),
    ("Denpasar", "5171", -8.6705, 115.2126, ["Renon", "Sanur", "Teuku Umar"]),
]

# product, price (IDR), popularity, per-kg (decimal quantity)
MENUS: dict[str, tuple[str, list[str], list[tuple[str, int, int, bool]]]] = {
    "Kedai kopi": ("KOP", ["Kopi {last}", "Kedai Kopi {first}", "{last} Coffee"], [
        ("Kopi susu gula aren", 22000, 30, False), ("Es kopi susu", 20000, 25, False),
        ("Americano", 18000, 10, False), ("Cappuccino", 25000, 10, False), ("Caffe latte", 27000, 10, False),
        ("Kopi tubruk", 12000, 6, False), ("V60 Gayo", 30000, 4, False), ("Es teh manis", 8000, 12, False),
        ("Teh tarik", 15000, 6, False), ("Matcha latte", 28000, 6, False), ("Cokelat panas", 24000, 4, False),
        ("Croissant", 22000, 6, False), ("Roti bakar cokelat keju", 20000, 8, False),
        ("Pisang goreng", 15000, 8, False), ("Kentang goreng", 18000, 6, False), ("Air mineral", 6000, 5, False),
    ]),
    "Warung makan": ("WRG", ["Warung Bu {first}", "Rumah Makan {last}", "Warung Makan {first} Jaya"], [
        ("Nasi goreng spesial", 25000, 20, False), ("Nasi goreng kampung", 20000, 12, False),
        ("Mie goreng jawa", 22000, 10, False), ("Nasi uduk", 15000, 8, False), ("Ayam geprek", 20000, 15, False),
        ("Ayam bakar", 28000, 8, False), ("Soto ayam", 18000, 10, False), ("Bakso urat", 20000, 10, False),
        ("Gado-gado", 17000, 6, False), ("Sate ayam (10 tusuk)", 30000, 8, False),
        ("Nasi rendang", 32000, 6, False), ("Tempe mendoan", 10000, 6, False), ("Kerupuk", 3000, 10, False),
        ("Es teh manis", 5000, 25, False), ("Es jeruk", 8000, 10, False), ("Teh botol", 6000, 6, False),
        ("Nasi putih", 5000, 8, False),
    ]),
    "Toko kelontong": ("TKO", ["Toko {last} Jaya", "Toko Kelontong {first}", "Minimarket {last} Mandiri"], [
        ("Beras premium 5 kg", 78000, 8, False), ("Minyak goreng 2 L", 38000, 10, False),
        ("Gula pasir 1 kg", 17500, 10, False), ("Telur ayam 1 kg", 29000, 10, False),
        ("Indomie goreng", 3500, 25, False), ("Kopi sachet", 1500, 15, False), ("Teh celup isi 25", 7500, 6, False),
        ("Susu kental manis", 12500, 6, False), ("Kecap manis 600 ml", 24000, 5, False),
        ("Sabun mandi", 4500, 8, False), ("Pasta gigi", 13000, 5, False), ("Air mineral 600 ml", 4000, 15, False),
        ("Gas LPG 3 kg", 22000, 6, False), ("Tepung terigu 1 kg", 13000, 5, False),
        ("Sarden kaleng", 11000, 4, False),
    ]),
    "Toko roti": ("ROT", ["Roti {last}", "{first} Bakery", "Toko Roti {last}"], [
        ("Roti tawar", 16000, 15, False), ("Roti sobek cokelat", 18000, 12, False), ("Bolu pandan", 45000, 5, False),
        ("Donat gula", 6000, 15, False), ("Lapis legit (potong)", 15000, 6, False),
        ("Brownies panggang", 55000, 4, False), ("Roti abon", 12000, 10, False),
        ("Kue cubit (isi 10)", 15000, 6, False), ("Klepon (isi 10)", 12000, 6, False),
        ("Martabak manis keju", 45000, 5, False), ("Es kopi susu", 18000, 8, False),
    ]),
    "Laundry kiloan": ("LDR", ["{first} Laundry", "Laundry Kiloan {last}", "Laundry {last} Bersih"], [
        ("Cuci kering setrika (per kg)", 8000, 40, True), ("Cuci kilat 1 hari (per kg)", 15000, 15, True),
        ("Setrika saja (per kg)", 6000, 10, True), ("Bed cover", 35000, 6, False), ("Selimut", 25000, 6, False),
        ("Boneka", 20000, 3, False), ("Cuci sepatu", 35000, 5, False),
    ]),
}

# bank, account-number length, card BIN prefixes (issuer-style, not real BINs)
BANKS = [
    ("BCA", 10, ["4556", "5241"]), ("Mandiri", 13, ["4617", "5264"]), ("BRI", 15, ["5221", "6013"]),
    ("BNI", 10, ["4105", "5371"]), ("CIMB Niaga", 13, ["4365", "5482"]), ("Permata", 10, ["4214"]),
    ("BSI", 10, ["6019"]), ("Danamon", 10, ["4587"]), ("BTN", 16, ["6048"]),
]
QRIS_ISSUERS = ["GoPay", "OVO", "DANA", "ShopeePay", "LinkAja", "BCA mobile", "Livin' by Mandiri", "BRImo"]
EWALLETS = [("GoPay", "GP"), ("OVO", "OVO"), ("DANA", "DN"), ("ShopeePay", "SP"), ("LinkAja", "LA")]
METHODS = ["cash", "qris", "debit", "credit", "ewallet", "transfer"]
METHOD_CUM = [35, 65, 80, 87, 97, 100]
LINE_COUNTS = [1, 2, 3, 4, 5]
LINE_CUM = [25, 55, 75, 90, 100]  # mean 2.55 lines per sale
HOURS = list(range(6, 23))  # opening hours in Jakarta time, peaks at lunch and dinner
HOUR_CUM = []
_acc = 0
for _w in [1, 3, 5, 5, 6, 9, 10, 8, 5, 4, 5, 7, 9, 8, 6, 3, 1]:
    _acc += _w
    HOUR_CUM.append(_acc)
QUANTITIES = [1] * 15 + [2] * 4 + [3]
WEEKDAY_FACTOR = [0.9, 0.9, 0.95, 1.0, 1.15, 1.35, 1.25]
MAIL_DOMAINS = ["gmail.com"] * 12 + ["yahoo.co.id"] * 3 + ["yahoo.com", "outlook.com", "hotmail.com", "ymail.com"]
MOBILE_PREFIXES = [
    "811", "812", "813", "821", "822", "823", "852", "853", "814", "815", "816", "855", "856", "857", "858",
    "817", "818", "819", "859", "877", "878", "831", "832", "838", "895", "896", "897", "898", "881", "882",
]
ISP_PREFIXES = ["36.68", "36.72", "36.85", "110.136", "110.137", "114.124", "114.125", "180.241", "180.244",
                "182.1", "182.253", "202.80", "103.147", "139.192", "140.213", "125.160"]
APP_VERSIONS = ["4.8.2", "4.9.0", "4.9.3", "4.10.1", "4.11.0", "4.12.2", "5.0.1", "5.1.0"]
OUTLET_DEVICES = [("Android 11", "Sunmi V2s"), ("Android 12", "Sunmi T2s"), ("Android 13", "Samsung Galaxy Tab A8"),
                  ("iPadOS 17", "iPad (9th generation)"), ("Windows 11", "POS PC")]
PHONE_DEVICES = [("Android 13", "Samsung Galaxy A54"), ("Android 14", "Xiaomi Redmi Note 13"),
                 ("Android 12", "OPPO A77s"), ("iOS 17", "iPhone 13"), ("Android 13", "vivo Y36")]
PLANS = ["free", "basic", "basic", "basic", "pro", "pro", "enterprise"]
RECENT_CHURN_DAYS = [10, 25, 3, 45, 17, 60, 32]
