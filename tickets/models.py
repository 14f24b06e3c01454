"""Models of the tickets layer (see ../shared/DESIGN.md)."""
