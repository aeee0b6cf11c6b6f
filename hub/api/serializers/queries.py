"""Query parameters several lists share: the cursor page and a text search."""

from rest_framework import serializers


class CursorQuerySerializer(serializers.Serializer):
    """Documents the paging parameters (ApiCursorPagination reads and checks them)."""

    cursor = serializers.CharField(
        required=False, allow_blank=True, help_text="Opaque: take it from `next` or `previous`."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=100, help_text="Default 20."
    )


class TextSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
