"""Codes services give their ValidationErrors when the refusal is about the
state of things rather than the input; the API answers them 409
(msops/tenancy/api/exceptions.py), pages show them as form errors."""

# The object is referred to by work or records: it can't be deleted (end or
# deactivate it instead).
IN_USE = "in_use"

# A write the object's state does not allow (a handoff already completed, a
# completion with lines left without an owner): 409 refused.
REFUSED = "refused"
