"""Models of the billing layer (see ../shared/DESIGN.md)."""
