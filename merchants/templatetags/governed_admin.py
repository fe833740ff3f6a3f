"""Admin template tags for tables of millions of rows."""

import calendar
import datetime

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()

# How many years back the drill-down offers: sales are kept ten years for tax, then deleted.
YEARS_BACK = 10


def bounded_date_hierarchy(cl):
    """Django's date drill-down without its queries.

    Django's `date_hierarchy` asks the database for the first and last date and the distinct
    years, months or days of the list: on millions of rows with no index on the date, that
    reads the whole table on every page view. This offers the calendar instead (the last
    YEARS_BACK years, their months, their days, never beyond today) and lets Django filter
    the list on the range chosen, as it does for its own drill-down. A link may lead to an
    empty list; it never costs a table scan to draw.
    """
    if not cl.date_hierarchy:
        return {"show": False}
    field_name = cl.date_hierarchy
    year_field, month_field, day_field = (f"{field_name}__{part}" for part in ("year", "month", "day"))
    year_lookup = cl.params.get(year_field)
    month_lookup = cl.params.get(month_field)
    day_lookup = cl.params.get(day_field)
    today = timezone.localdate()

    def link(filters):
        return cl.get_query_string(filters, [f"{field_name}__"])

    try:
        year = int(year_lookup) if year_lookup else None
        month = int(month_lookup) if month_lookup else None
        day = int(day_lookup) if day_lookup else None
    except (TypeError, ValueError):
        year = month = day = None

    if year and month and day:
        date = datetime.date(year, month, day)
        return {
            "show": True,
            "back": {
                "link": link({year_field: year, month_field: month}),
                "title": capfirst(formats.date_format(date, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(date, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        last = calendar.monthrange(year, month)[1]
        if (year, month) == (today.year, today.month):
            last = today.day
        return {
            "show": True,
            "back": {"link": link({year_field: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: d}),
                    "title": capfirst(formats.date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")),
                }
                for d in range(1, last + 1)
            ],
        }
    if year:
        last = today.month if year == today.year else 12
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m}),
                    "title": capfirst(formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")),
                }
                for m in range(1, last + 1)
            ],
        }
    return {
        "show": True,
        "back": None,
        "choices": [
            {"link": link({year_field: str(y)}), "title": str(y)}
            for y in range(today.year - YEARS_BACK, today.year + 1)
        ],
    }


@register.tag(name="bounded_date_hierarchy")
def bounded_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=bounded_date_hierarchy, template_name="date_hierarchy.html", takes_context=False
    )
