"""Deterministic, realistic Indonesian demo data for the governed JUNOPOS tables.

Used by `manage.py seed_demo` (merchants/management/commands/seed_demo.py), which
`bench/seed.py` runs at a million sales. Two layers:

- the *small path* (merchants, outlets, staff, bank accounts, and the people who appear in
  several places) goes through merchants.services, row by row, validated, each with its "+"
  row in the audit history;
- the *bulk path* (loyalty customers, device sessions, sales, lines, payments) is generated
  from pools made once (names, streets, menus), drawn with seeded `random.Random`s, in
  chunks, and written with PostgreSQL's COPY (psycopg 3) or, on other databases, with
  `bulk_create`. Faker is called only to fill the pools, never per row.

Where each piece lives, in the order a run uses them:

- reference.py: the fixed tables (cities, menus and prices, banks, payment methods, the
  spread of hours, weekdays and line counts, phone prefixes, devices, plans), `JAKARTA`;
- pools.py: how people type phone numbers (`phone_forms`), the featured people `SITI`,
  `BUDI` and `DEWI`, the Faker-made `Pools`, and identifiers (`nik`, `npwp`, `masked_card`);
- plans.py: the plain data handed from the small path to the bulk path (`MerchantPlan`,
  `OutletPlan`, `CustomerRef`), `CrossPerson` and the run's `SeedResult`;
- seeder.py: `DemoSeeder`, which runs both paths, and the small path itself;
- sales.py: `SalesGenerator`, the sessions, sales, lines and payments, in `Chunk`s of tuples;
- loader.py: `BulkLoader`, the threaded bulk phase (generate in one thread, write in this one,
  lines through a second connection on PostgreSQL), the part that matters at a million sales;
- writers.py: `CopyWriter`, `BulkCreateWriter`, `writer_for_connection`, `write_history`;
- reset.py: `reset_demo_data` (`seed_demo --reset`);
- users.py: `DEMO_USERS` and `ensure_demo_users`, the portal's demo logins.

Primary keys: sales, payments and loyalty customers get explicit ids from a range reserved
up front on their sequences (`setval(seq, nextval(seq) + n - 1)`; max(id) + 1 elsewhere),
since lines, payments and sales point at them before anything is written; lines and device
sessions, which nothing points at, take theirs from the identity column's default.

Audit history: every seeded row of a table that has history gets its one "+" history row,
as if it had been created through the app, because erasure must reach the history tables
and the demo should give it rows to reach there. The small path gets them from the services
(save, and simple-history records). Loyalty customers, written in bulk, get theirs written
in bulk beside them (`write_history`, the rows `bulk_create_with_history` would write, but
through COPY: that costs one more bulk write of the same size, a second at 40,000 members,
where bulk_create_with_history took twenty). Sales, lines, payments and device sessions have
no history tables (immutable records), so their bulk path writes none.

Determinism: everything is drawn from `random.Random`s seeded from `--seed` (one per
merchant for its sales, so one merchant's rows do not depend on another's) and from a
`Faker("id_ID")` seeded the same way; dates are relative to `as_of` (today in Asia/Jakarta
unless given). Two runs with the same seed and `as_of` give the same rows; only primary keys
and `created_at` stamps differ.

Nothing here imports retention, consent or requests_portal.
"""

from .plans import SeedResult
from .pools import BUDI, DEWI, SITI, Featured, phone_forms
from .reference import JAKARTA
from .reset import reset_demo_data
from .seeder import DemoSeeder
from .users import DEMO_USERS, ensure_demo_users
from .writers import BulkCreateWriter, CopyWriter, write_history, writer_for_connection

__all__ = [
    "BUDI", "DEMO_USERS", "DEWI", "JAKARTA", "SITI", "BulkCreateWriter", "CopyWriter", "DemoSeeder", "Featured",
    "SeedResult", "ensure_demo_users", "phone_forms", "reset_demo_data", "write_history", "writer_for_connection",
]
