"""Pages of a list that never count it.

Counting every document a reader may see means evaluating every access gate on every row the
reader may read; the page needs only its own rows and whether there is another page, so it
fetches one row more than it shows. Pages reach `MAX_PAGE` deep (an offset costs the rows it
skips); a reader with more results than that narrows them with a filter or a search.
"""

from __future__ import annotations

from django.db.models import QuerySet

MAX_PAGE = 10


class PeekPage:
    """One page of `queryset`: its rows, and whether there are more (from one extra row)."""

    open_ended = True  # the pagination include shows "Page n", not "Page n of m"

    def __init__(self, queryset: QuerySet, number, per_page: int, max_page: int | None = None):
        max_page = max_page or MAX_PAGE
        try:
            number = int(number)
        except (TypeError, ValueError):
            number = 1
        self.number = min(max(number, 1), max_page)
        self.per_page, self.max_page = per_page, max_page
        start = (self.number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
        self.more = len(rows) > per_page
        self.object_list = rows[:per_page]
        if not self.object_list and self.number > 1:  # past the end: show the last page there is
            self.__init__(queryset, self.number - 1, per_page, max_page)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self.more and self.number < self.max_page

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    @property
    def is_capped(self) -> bool:
        """True on the deepest page when rows remain beyond it: the pages reach no further."""
        return self.more and self.number >= self.max_page

    @property
    def total(self) -> int | None:
        """The exact number of rows, when this page shows the last of them (else unknown)."""
        return None if self.more else self.end_index
