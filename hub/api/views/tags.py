"""Tags."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from hub.forum.models import Tag
from hub.forum.selectors import tag_get, tag_list

from .. import serializers as s
from ..base import ApiView
from .common import CURSOR_PARAMS, paginated_response, validated_query


class TagListView(ApiView):
    cursor_ordering = "name"

    @extend_schema(
        summary="Tags, by name, with their question counts",
        operation_id="tags_list",
        parameters=[s.TextSearchQuerySerializer, *CURSOR_PARAMS],
        responses={200: paginated_response(s.TagSerializer)},
        tags=["tags"],
    )
    def get(self, request):
        query = validated_query(s.TextSearchQuerySerializer, request).get("q", "")
        return self.paginated(tag_list(query=query, sort="name"), s.TagSerializer)


class TagDetailView(ApiView):
    @extend_schema(summary="One tag", responses={200: s.TagSerializer}, tags=["tags"])
    def get(self, request, name: str):
        try:
            tag = tag_get(name=name)
        except Tag.DoesNotExist:
            try:
                tag = tag_get(slug=name)
            except Tag.DoesNotExist as exc:
                raise Http404 from exc
        return Response(s.TagSerializer(tag).data)
