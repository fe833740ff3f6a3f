"""Times as a requester or an officer reads them: Asia/Jakarta, in the active language."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def format_due(moment) -> str:
    local = timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE))
    return _("%(date)s pukul %(time)s WIB") % {
        "date": formats.date_format(local, "j F Y"), "time": local.strftime("%H:%M"),
    }


def format_duration(left: timedelta) -> str:
    """'2 hari 5 jam', '3 jam 10 menit', '-4 jam' (late), for the queue."""
    sign = "-" if left.total_seconds() < 0 else ""
    seconds = abs(int(left.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = ngettext("%(n)s hari", "%(n)s hari", days) % {"n": days}
        if hours:
            text += " " + ngettext("%(n)s jam", "%(n)s jam", hours) % {"n": hours}
    elif hours:
        text = ngettext("%(n)s jam", "%(n)s jam", hours) % {"n": hours}
        if minutes:
            text += " " + ngettext("%(n)s menit", "%(n)s menit", minutes) % {"n": minutes}
    else:
        text = ngettext("%(n)s menit", "%(n)s menit", minutes) % {"n": minutes}
    return sign + text
