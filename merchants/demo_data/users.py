"""The portal's demo logins: `DEMO_USERS` and `ensure_demo_users` (one user per group).

For demonstration only; `seed_demo` creates them after the data and prints them.
"""

from __future__ import annotations


DEMO_USERS = [
    # username, password, group, superuser
    ("officer", "officer-demo-2026", "Compliance officer", False),
    ("dpo", "dpo-demo-2026", "Data protection officer", False),
    ("auditor", "auditor-demo-2026", "Auditor", False),
    ("admin", "admin-demo-2026", None, True),
]


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """The portal's demo logins, one per group. Groups come from a data migration; a group
    that does not exist yet is created empty, so this works before and after it."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    User = get_user_model()
    logins = []
    for username, password, group_name, superuser in DEMO_USERS:
        user, _created = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.is_active = True
        user.email = user.email or f"{username}@junopos.demo"
        user.set_password(password)
        user.save()
        if group_name:
            group, _ = Group.objects.get_or_create(name=group_name)
            user.groups.add(group)
        logins.append((username, password, group_name or "superuser"))
    return logins
