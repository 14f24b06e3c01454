"""Keys for template fragments cached by their content (``{% cache %}``).

A fragment's key is the organization (and its slug, which links carry), the
member's role, the timezone and language it is written in, and a digest of
everything the fragment shows.
Equal inputs give equal HTML, so a cached fragment is never stale and needs
no invalidation; it is never shared across organizations or roles, even
when two of them would show the same rows (``tests/test_fragment_cache.py``).
An entry is never wrong, only unused once the content changes. Fragments
live in their own per-process cache (``CACHES["template_fragments"]``, which
``{% cache %}`` uses), so they never push out the throttle counters; templates
give them an hour (``{% cache 3600 <name> <..._key> %}``) and nothing
that carries a person's secret (``{% csrf_token %}``) goes in one.
"""

import hashlib

from django.http import HttpRequest
from django.utils import timezone, translation


def fragment_key(request: HttpRequest, content) -> str:
    """The ``vary_on`` of a fragment showing ``content`` (a tuple of plain
    values: ids, texts, numbers, dates) to this member, now."""
    digest = hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()
    organization = request.organization
    return ":".join(
        (
            str(organization.pk),
            organization.slug,  # in the fragment's links; an admin may change it
            request.membership.role,
            timezone.get_current_timezone_name(),
            translation.get_language() or "",
            digest,
        )
    )
