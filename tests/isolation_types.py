"""Route classification types for the isolation test."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    kind: str  # "object", "collection" or "exempt"
    objects: dict[str, str] = field(default_factory=dict)  # URL kwarg → world key
    reason: str = ""


def obj(**objects: str) -> Route:
    """A route that addresses one tenant object (e.g. ``pk="token"``)."""
    return Route("object", objects)


def collection() -> Route:
    """A tenant route with no object in its URL: lists, create forms, home pages."""
    return Route("collection")


def exempt(reason: str) -> Route:
    return Route("exempt", reason=reason)
