from django.core.paginator import Paginator as DjangoPaginator
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class CountingPaginator(DjangoPaginator):
    """Django's paginator, counting ``count_queryset`` when one is given: the
    rows before the page's columns joined their related names in (the same
    rows: the joins follow required foreign keys), so the COUNT joins nothing
    the filters do not."""

    def __init__(self, object_list, per_page, *, count_queryset=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset

    @cached_property
    def count(self) -> int:
        if self.count_queryset is None:
            return super().count
        return self.count_queryset.count()


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=``. A page size that is not a whole number
    of one or more is a 400 on ``page_size``, not silently the default; a size
    above 200 gives 200 (as documented)."""

    page_size_query_param = "page_size"
    max_page_size = 200
    count_queryset = None

    def django_paginator_class(self, object_list, per_page):
        return CountingPaginator(object_list, per_page, count_queryset=self.count_queryset)

    def paginate_queryset(self, queryset, request, view=None, *, count_queryset=None):
        """``count_queryset``: the same rows as ``queryset``, cheaper to count
        (see CountingPaginator)."""
        self.count_queryset = count_queryset
        return super().paginate_queryset(queryset, request, view=view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                size = int(raw)
            except ValueError:
                size = 0
            if size < 1 or str(size) != raw.strip().lstrip("+"):
                raise ValidationError(
                    {self.page_size_query_param: ["Give a whole number from 1 to 200."]}
                )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page, 1 or more; at most {self.max_page_size} are given."
                )
        return parameters
