from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """`?page=N&page_size=M` (M at most 200). A page past the end is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
