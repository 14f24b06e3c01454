"""Models of the clients layer (see ../shared/DESIGN.md)."""
