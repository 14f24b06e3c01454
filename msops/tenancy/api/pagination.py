from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=``. A page size that is not a whole number
    of one or more is a 400 on ``page_size``, not silently the default; a size
    above 200 gives 200 (as documented)."""

    page_size_query_param = "page_size"
    max_page_size = 200

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
