"""Compatibility shim: email notifications live in msops/mail.py. Remove once
billing/services/__init__.py imports ``notify`` from ``msops.mail``."""

from msops.mail import notify, send_email

__all__ = ["notify", "send_email"]
