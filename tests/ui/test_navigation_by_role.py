"""No menu item leads a person to a page that refuses them."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def nav(html: str) -> str:
    return html.split('class="accord-nav', 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize(("who", "shown"), [("rita", True), ("alice", False), ("bob", False), ("olivia", False)])
def test_releases_is_in_the_menu_only_for_release_officers(request, verified_client, who, shown):
    client = verified_client(request.getfixturevalue(who))
    menu = nav(client.get(reverse("home")).content.decode())
    queue = reverse("sharing:release_queue")
    assert (f'href="{queue}"' in menu) is shown
    # And where it is shown, it opens.
    assert client.get(queue).status_code == (200 if shown else 403)
