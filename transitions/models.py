"""Models of the transitions layer (see ../shared/DESIGN.md)."""
