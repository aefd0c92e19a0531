"""Two personas walk every route of the portal and the API with every method, export format and
search, and receive nothing of what they may not read (tests/portal/walk.py says what is checked).

- The hostile partner admin: an organisation admin of the US institute, to which the UK releases
  findings, who set his own nationality to GBR; he tries every admin page, nomination, read-in,
  token, audit export and access history.
- The careless author: a UK analyst cleared below some of her own institute's findings and not
  read in to its compartment; the US releases findings to the UK.

In each world the partner's findings sit beside one the persona may read: above their clearance,
in a compartment they are not read in to, eyes only for the originator, a draft, withdrawn, never
released, released to a third institute, and released and then suspended by a re-mark.
"""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import ReadInFactory, compartment

from .walk import PARAMETERS, Route, Walker, routes
from .walk_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unthrottled(settings):
    """The walk sends every API route, method and fill through one token, well over the API's
    per-minute rate on a fast run; the throttle has tests of its own (tests/api), and here a 429
    would stand where the walk compares a forbidden answer with a missing one."""
    settings.ACCORD_API_RATE = "1000000/min"


def _walk(persona, home, partner, third, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world = build_world(persona=persona, home=home, partner=partner, third=third, shared_code="walk-shared")
    ReadInFactory(user=persona, compartment=compartment("walk-shared"))
    walker = Walker(world)
    with django_capture_on_commit_callbacks(execute=True):
        walker.walk()
    assert walker.walked == len(routes())
    # The world is what it says: the file the persona may read downloads, on the page and the API.
    downloads = [
        a
        for a in walker.answers
        if a.route.endswith("attachment_download") and a.role == "readable" and a.method == "get"
    ]
    assert downloads and {a.status for a in downloads} == {200}
    received = [m for m in mail.outbox if persona.email in m.recipients()]
    for message in received:
        text = (message.subject + message.body).lower()
        leaked = sorted(c for c in world.canaries if c in text)
        if leaked:
            walker.problems.append(f"email {message.subject!r} shows {', '.join(leaked)}")
    assert not walker.problems, f"{len(walker.problems)} problems:\n" + "\n".join(walker.problems)
    return walker


def test_hostile_partner_admin_receives_nothing_it_may_not_read(
    hal, usaisi, ukasi, canada, django_capture_on_commit_callbacks
):
    _walk(hal, usaisi, ukasi, canada, django_capture_on_commit_callbacks)


def test_careless_author_receives_nothing_she_may_not_read(
    cass, ukasi, usaisi, canada, django_capture_on_commit_callbacks
):
    _walk(cass, ukasi, usaisi, canada, django_capture_on_commit_callbacks)


def test_the_walk_knows_how_to_fill_every_route_of_the_portal():
    """Every parameter of every route (Django's admin aside: it sends non-staff away first) has
    its kind in the walk's table, under the parameter's own name."""
    unknown = [
        f"{route.name} ({route.pattern})"
        for route in routes()
        if route.parameters
        and not route.name.startswith("admin:")
        and set(PARAMETERS.get(route.name, {})) != set(route.parameters)
    ]
    assert not unknown


def test_a_route_the_walk_cannot_fill_fails_the_walk():
    walker = Walker.__new__(Walker)
    with pytest.raises(AssertionError, match="does not know how to fill new:thing"):
        walker.fills(Route("new:thing", "things/<uuid:code>/", ("code",)))
