"""Cursor pagination: stable pages while new posts arrive, no COUNT(*) on large tables."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class ApiCursorPagination(CursorPagination):
    page_size = PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    ordering = "-created_at"

    def get_page_size(self, request):
        """DRF quietly falls back to the default on a bad page_size; we say what is wrong."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
