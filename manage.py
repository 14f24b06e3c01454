#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msops.settings")
    # manage.py is the developer's tool: without DEBUG set it runs in debug
    # mode (development secret key). Production sets DEBUG=0 and SECRET_KEY.
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
