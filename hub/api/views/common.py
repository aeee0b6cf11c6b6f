"""What the resources' views share: reading input, search pages, and schema documentation."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response

from .. import serializers as s

EXAMPLE_ERROR = {
    "error": {
        "code": "validation_error",
        "message": "title: Ensure this field has at least 10 characters.",
        "fields": {"title": ["Ensure this field has at least 10 characters."]},
    }
}

CURSOR_PARAMS = [s.CursorQuerySerializer]


def paginated_response(item_serializer):
    """The cursor page envelope around `item_serializer`, for @extend_schema."""
    return inline_serializer(
        name=f"Paginated{item_serializer.__name__.removesuffix('Serializer')}List",
        fields={
            "next": drf_serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": drf_serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )


def validated_query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def search_page_response(request, search, serializer_class) -> Response:
    """Search results are ranked, not chronological: one page of the best matches, in the
    cursor page envelope. The paging parameters get the same checks as for a paged list,
    before `search()` runs."""
    validated_query(s.CursorQuerySerializer, request)
    results = serializer_class(search(), many=True, context={"request": request})
    return Response({"next": None, "previous": None, "results": results.data})
