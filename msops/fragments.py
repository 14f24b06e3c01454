"""Keys for template fragments cached by their content (``{% cache %}``).

A fragment's key is the organization, the member's role, the timezone and
language it is written in, and a digest of everything the fragment shows.
Equal inputs give equal HTML, so a cached fragment is never stale and needs
no invalidation; it is never shared across organizations or roles, even
when two of them would show the same rows (``tests/test_fragment_cache.py``).
An entry is never wrong, only unused once the content changes: templates
give fragments an hour (``{% cache 3600 <name> <..._key> %}``) and nothing
that carries a person's secret (``{% csrf_token %}``) goes in one.
"""

import hashlib

from django.http import HttpRequest
from django.utils import timezone, translation


def fragment_key(request: HttpRequest, content) -> str:
    """The ``vary_on`` of a fragment showing ``content`` (a tuple of plain
    values: ids, texts, numbers, dates) to this member, now."""
    digest = hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()
    return ":".join(
        (
            str(request.organization.pk),
            request.membership.role,
            timezone.get_current_timezone_name(),
            translation.get_language() or "",
            digest,
        )
    )
