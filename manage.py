#!/usr/bin/env python3
import os
import sys


def main():
    if sys.version_info < (3, 11):
        sys.exit(f"JUNO Privacy needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junoprivacy.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
