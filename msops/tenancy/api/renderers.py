"""JSON rendered by orjson: the bytes DRF's JSONRenderer writes, in a
fraction of its time (a page of 50 tickets: the standard library's encoder
walks every value in Python).

What orjson does not write itself goes through DRF's own encoder (lazy
strings, decimals as the API's strings, datetimes left unformatted, bytes,
querysets), and the two characters JavaScript cannot take raw are escaped as
DRF escapes them. An indented answer (``Accept: application/json;
indent=4``) and what orjson refuses (integers past 64 bits) are left to DRF.
Two differences remain, neither reachable through the API's fields (no
float is served; decimals go out as strings): a float below 1e-4 is written
in positional notation (``0.00001``, DRF ``1e-05``), and NaN or infinity as
``null`` where DRF's strict JSON fails."""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
LINE_SEPARATOR = "\u2028".encode()
PARAGRAPH_SEPARATOR = "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if (
            self.get_indent(accepted_media_type, renderer_context or {}) is not None
            or self.ensure_ascii
            or not self.compact
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=JSONEncoder().default, option=OPTIONS)
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: DRF writes it
            return super().render(data, accepted_media_type, renderer_context)
        if LINE_SEPARATOR in out:
            out = out.replace(LINE_SEPARATOR, b"\\u2028")
        if PARAGRAPH_SEPARATOR in out:
            out = out.replace(PARAGRAPH_SEPARATOR, b"\\u2029")
        return out
