"""Officers' admin for retention: rules, legal holds, purge schedules, erasure runs, churn.

Every change goes through retention.services (holds placed and lifted, churn recorded, a
failed purge retried); destructive actions ask for confirmation and the services check the
permission named for the step. One module per register: rules, holds, schedules, runs.
"""

from . import holds, rules, runs, schedules  # noqa: F401  (each registers its models)
