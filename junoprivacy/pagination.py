"""A paginator for admin lists over tables with millions of rows.

Django's paginator asks the database for an exact COUNT(*) of the list, which on a table of
millions of sales reads the whole table on every page view. This one counts at most
`exact_limit + 1` rows (a bounded scan that stops early); when the list is larger it takes
PostgreSQL's planner estimate (EXPLAIN), which costs nothing, and says so: `count_is_exact`
is False and the admin's pagination template prints the count as approximate.

Use it with `show_full_result_count = False`, which spares the second, unfiltered count.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows a list is counted exactly; above it the count is an estimate.
EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    exact_limit = EXACT_COUNT_LIMIT

    @cached_property
    def count_is_exact(self) -> bool:
        return self._bounded_count <= self.exact_limit

    @cached_property
    def _bounded_count(self) -> int:
        # COUNT(*) over a LIMITed subquery: reads at most exact_limit + 1 rows.
        return self.object_list.order_by().values("pk")[: self.exact_limit + 1].count()

    @cached_property
    def count(self) -> int:
        if self.count_is_exact:
            return self._bounded_count
        return max(self._estimated_count(), self._bounded_count)

    def _estimated_count(self) -> int:
        queryset = self.object_list
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count()
        plan = json.loads(queryset.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
