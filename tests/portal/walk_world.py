"""The world a persona walk is played in: what the persona may read, and beside it a real object
of every kind they may not, each forbidden document carrying its own canary strings.

The persona belongs to `home`; `partner` originates the documents released to `home` under a
live agreement (ceiling SECRET, every topic) and owns the compartments the persona may or may
not be read in to; `third` is party to an agreement with `partner` that `home` is not.

Each forbidden thing is named by a canary: a lower-case token that appears nowhere else, written
into its title, summary, body, attachment file name (and, for a compartment no one at `home` may
know of, its code and name). The walk asserts that no canary appears in any byte the persona
receives.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.test import Client
from django.utils import timezone

from accounts.models import ReadIn, ReadInNomination, SignedInSession
from api.tokens import token_create
from evals.models import EvalRun
from exchanges.models import Secondment
from exercises.models import ExerciseRun
from exercises.services import protocol_draft
from sharing.marking import marking_of
from sharing.models import Document, MarkingProposal, Release
from sharing.services.releases import suspend_out_of_scope
from tests.exercises.support import make_exercise
from tests.factories import (
    DAY,
    AgreementFactory,
    AttachmentFactory,
    DocumentFactory,
    PersonFactory,
    ReleaseFactory,
    compartment,
    login_verified,
    revise,
    security_key,
    tier,
)


@dataclass
class Fills:
    """Values for one kind of URL parameter: objects the persona may read (or act on), real
    objects they may not, and one that does not exist."""

    readable: list[str] = field(default_factory=list)
    forbidden: dict[str, str] = field(default_factory=dict)  # label → value
    missing: str = ""


@dataclass
class World:
    persona: object
    token: str
    canaries: set[str] = field(default_factory=set)
    # The canaries a search must not find: every forbidden title, and the newer revision's words.
    searched: set[str] = field(default_factory=set)
    fills: dict[str, Fills] = field(default_factory=dict)
    # (kind, value) pairs the persona's own organisation originated: its admins see that they exist.
    own: set[tuple[str, str]] = field(default_factory=set)

    def fill(self, kind: str) -> Fills:
        return self.fills.setdefault(kind, Fills(missing=str(uuid.uuid4())))


def canary_text(token: str) -> dict:
    """A document's text that names `token` in every field."""
    return {
        "title": f"{token}title finding",
        "summary": f"{token}summary of it",
        "body": f"The {token}body of the finding.",
    }


def canaries_of(token: str) -> set[str]:
    return {f"{token}title", f"{token}summary", f"{token}body", f"{token}file"}


def _attach(world: World, document: Document, token: str, *, forbidden: bool, by=None):
    attachment = AttachmentFactory(document=document, uploaded_by=by or document.author, filename=f"{token}file.txt")
    fills = world.fill("attachment")
    if forbidden:
        fills.forbidden[token] = str(attachment.code)
    else:
        fills.readable.append(str(attachment.code))
    return attachment


def build_world(*, persona, home, partner, third, shared_code: str) -> World:
    """The walk's world around `persona` (of `home`), who is read in to `shared_code` (owned by
    `partner`) and cleared to OFFICIAL-SENSITIVE by the caller."""
    now = timezone.now()
    world = World(
        persona=persona,
        token=token_create(actor=persona, user=persona, name="walk", scopes="read,write", days=1).secret,
    )
    agreement = AgreementFactory(
        parties=[partner, home], ceiling="secret", topics=["cyber-offence", "autonomy", "cbrn"], reference="WALK-MOU-1"
    )
    third_agreement = AgreementFactory(
        parties=[partner, third], ceiling="secret", reference="zqagreementref", title="zqagreementtitle"
    )
    world.canaries |= {"zqagreementref", "zqagreementtitle"}
    world.fill("agreement").readable.append(str(agreement.code))
    world.fill("agreement").forbidden["third agreement"] = str(third_agreement.code)

    shared = compartment(shared_code, owner=partner)
    partner_only = compartment(f"{partner.short_name}-only", owner=partner)
    unseen = compartment("zqunseencompartment", owner=partner)
    unseen.name = "zqunseenname"
    unseen.save(update_fields=["name"])
    world.canaries |= {"zqunseencompartment", "zqunseenname"}
    home_only = compartment(f"{home.short_name}-only", owner=home)

    author = PersonFactory(
        organisation=partner, roles=["author"], clearance="secret", read_ins=[shared, partner_only, unseen]
    )
    home_author = PersonFactory(organisation=home, roles=["author"], clearance="secret", read_ins=[shared, home_only])

    def partner_doc(token: str | None, *, release=True, recipient=home, **marking) -> Document:
        """A partner's finding with one file, attached before it is released (a release pins
        its revision's files)."""
        text = canary_text(token) if token else {"title": "Readable walk finding", "summary": "It may be read."}
        marking.setdefault("releasable_to", [home.country_id, third.country_id])
        marking.setdefault("risk_domains", ["cyber-offence"])
        document = DocumentFactory(author=author, **text, **marking)
        _attach(world, document, token or "readable", forbidden=bool(token))
        if release:
            ReleaseFactory(
                document=document, agreement=agreement if recipient == home else third_agreement, recipient=recipient
            )
        if token:
            world.canaries |= canaries_of(token)
            world.fill("document").forbidden[token] = str(document.code)
        else:
            world.fill("document").readable.append(str(document.code))
        return document

    # What the persona may read: a finding in the shared compartment, with a file and a parsed run.
    readable = partner_doc(None, compartments=[shared])
    world.fill("eval_run").readable.append(str(_run(readable.attachments.get(), "readable-task").code))
    # ...whose author then attached a second file and log: a revision not yet passed on.
    later = _attach(world, readable, "zqlater", forbidden=True)
    world.canaries |= {"zqlaterfile", "zqlatertask"}
    world.fill("eval_run").forbidden["zqlater"] = str(_run(later, "zqlatertask").code)

    # Every way a partner's finding can be out of reach, each with its canary.
    secret = partner_doc("zqtier", tier="secret")
    world.fill("eval_run").forbidden["zqtier"] = str(_run(secret.attachments.get(), "zqtiertask").code)
    world.canaries.add("zqtiertask")
    partner_doc("zqcompartment", compartments=[partner_only])
    partner_doc("zqeyesonly", releasable_to=[])
    partner_doc("zqdraft", release=False, status=Document.Status.DRAFT)
    partner_doc("zqwithdrawn", status=Document.Status.WITHDRAWN)
    partner_doc("zqunreleased", release=False)
    partner_doc("zqunseen", release=False, compartments=[unseen])
    to_third = partner_doc("zqthird", recipient=third)

    # Released, then re-marked out of the persona's reach: the release stands suspended.
    suspended = partner_doc("zqsuspended")
    revise(suspended, releasable_to=[])
    assert suspend_out_of_scope(actor=author, document=suspended) == 1

    # The persona's own organisation's findings they may not read: above their clearance, and in
    # a compartment of their own organisation they are not read in to.
    for token, marking in (("zqownsecret", {"tier": "secret"}), ("zqowncompartment", {"compartments": [home_only]})):
        document = DocumentFactory(
            author=home_author, **canary_text(token), releasable_to=[partner.country_id], **marking
        )
        world.canaries |= canaries_of(token)
        world.fill("document").forbidden[token] = str(document.code)
        world.own.add(("document", str(document.code)))
        _attach(world, document, token, forbidden=True)

    world.searched = {c for c in world.canaries if c.endswith("title")} | {"zqtiertask"}
    releases = world.fill("release")
    for release in Release.objects.filter(recipient=home).select_related("document"):
        if str(release.document.code) in world.fill("document").readable:
            releases.readable.append(str(release.code))
        else:
            releases.forbidden[release.document.title.split("title")[0]] = str(release.code)
    releases.forbidden["to third"] = str(Release.objects.get(document=to_third).code)
    # A lower marking waiting on a partner's finding the persona may not read: 404, like a missing one.
    above = Document.objects.get(code=world.fill("document").forbidden["zqtier"])
    waiting = MarkingProposal.objects.create(
        document=above, proposed_by=author, base_marking=marking_of(above).as_snapshot(), tier=tier("official")
    )
    world.fill("marking").forbidden["zqtier"] = str(waiting.code)

    # People: a colleague the persona's organisation administers, and a partner's member.
    colleague = PersonFactory(organisation=home, clearance="official-sensitive", read_ins=[shared])
    outsider = PersonFactory(organisation=partner, clearance="secret", read_ins=[shared], display_name="zqoutsidername")
    stranger = PersonFactory(organisation=third, roles=["org_admin"], clearance="secret")
    world.canaries.add("zqoutsidername")
    for kind, mine, theirs in (
        ("member", colleague, outsider),
        ("clearance", colleague.clearance_grants.get(), outsider.clearance_grants.get()),
        ("readin", colleague.read_ins.get(), outsider.read_ins.get()),
    ):
        world.fill(kind).readable.append(str(mine.code))
        world.fill(kind).forbidden["partner's"] = str(theirs.code)
    # Tokens: the persona's second one (the walk's own keeps working) and a colleague's; a partner's.
    world.fill("token").readable += [
        str(token_create(actor=persona, user=persona, name="second", scopes="read", days=1).token.code),
        str(token_create(actor=colleague, user=colleague, name="colleague", scopes="read", days=1).token.code),
    ]
    world.fill("token").forbidden["partner's"] = str(
        token_create(actor=outsider, user=outsider, name="zqtokenname", scopes="read", days=1).token.code
    )
    world.canaries.add("zqtokenname")
    # Nominations: the persona's organisation's own (decided by the partner), and a third's to a
    # compartment the persona's organisation may not know exists.
    mine = ReadInNomination.objects.create(
        user=colleague, compartment=partner_only, nominated_by=colleague, nominated_at=now
    )
    theirs = ReadInNomination.objects.create(
        user=PersonFactory(organisation=third), compartment=unseen, nominated_by=stranger, nominated_at=now - DAY
    )
    world.fill("nomination").readable.append(str(mine.code))
    world.fill("nomination").forbidden["third's"] = str(theirs.code)
    world.fill("user").readable.append(str(persona.pk))
    world.fill("user").forbidden["partner's"] = str(outsider.pk)
    # Security keys: the persona's own, and a partner's (named by a canary).
    world.fill("security_key").readable.append(security_key(persona).credential_id_sha256)
    world.fill("security_key").forbidden["partner's"] = security_key(outsider, "zqkeyname").credential_id_sha256
    world.canaries.add("zqkeyname")
    # Secondments: a colleague's to the partner (the persona's admins see it), and one between the
    # partner and the third, whose purpose and person are canaries.
    world.fill("secondment").readable.append(str(_secondment(colleague, home, partner, agreement, "walk").code))
    seconded = PersonFactory(organisation=partner, display_name="zqsecondeename")
    theirs = _secondment(seconded, partner, third, third_agreement, "zqsecondmentpurpose")
    world.fill("secondment").forbidden["third's"] = str(theirs.code)
    world.canaries |= {"zqsecondeename", "zqsecondmentpurpose"}
    # Sessions: only one's own may be ended on the sessions page (the persona's own would end
    # the walk's), so a colleague's is as forbidden as a partner's.
    world.fill("signed_in_session").forbidden["colleague's"] = str(_session_of(colleague).code)
    world.fill("signed_in_session").forbidden["partner's"] = str(_session_of(outsider).code)
    _exercises(world, persona=persona, home=home, partner=partner, third=third, agreement=agreement,
               third_agreement=third_agreement)  # fmt: skip
    return world


def _secondment(person, home, host, agreement, purpose: str) -> Secondment:
    now = timezone.now()
    return Secondment.objects.create(
        person=person, home=home, host=host, agreement=agreement, starts_at=now - DAY, ends_at=now + 30 * DAY,
        role="analyst", clearance=tier("official"), purpose=purpose, status=Secondment.Status.APPROVED,
        proposed_by=person, home_approved_at=now, host_approved_at=now,
    )  # fmt: skip


def _exercises(world: World, *, persona, home, partner, third, agreement, third_agreement) -> None:
    """Exercises led by the partner: one the persona is read in to; one its organisation takes
    part in but the persona is not read in to; one above the persona's clearance though read in;
    one between the partner and the third institute. Each forbidden one's title and tasks are
    canaries; so is the third's reference, whose compartment the persona's side never sees (a
    participant's admins do see the compartment of an exercise they take part in, so there the
    reference is no secret)."""
    lead = PersonFactory(organisation=partner, roles=["org_admin", "author"], clearance="secret")
    tasks = [{"task": "walk/task", "task_version": "1", "dataset": "walk", "sample_ids": [1, 2],
              "scorers": ["match"], "solver": "generate"}]  # fmt: skip

    def exercise(token: str | None, reference: str, partners, *, under=agreement, tier_code="official", read=True):
        made = make_exercise(lead, under, *partners, reference=reference, tier=tier(tier_code),
                             title=f"{token}title of the exercise" if token else "Readable walk exercise")  # fmt: skip
        if read:
            ReadIn.objects.create(user=persona, compartment=made.compartment)
        task = dict(tasks[0], task=f"{token}task") if token else tasks[0]
        version = protocol_draft(actor=lead, exercise=made, target_model="lab/x", reference_models=[], tasks=[task])
        if token:
            world.canaries |= {f"{token}title", f"{token}task"}
            world.fill("exercise").forbidden[token] = str(made.code)
            world.fill("protocol").forbidden[token] = str(version.code)
        else:
            world.fill("exercise").readable.append(str(made.code))
            world.fill("protocol").readable.append(str(version.code))
            # The partner's run, never released to the persona's organisation: listed nowhere.
            hidden = DocumentFactory(author=lead, **canary_text("zqexrun"), compartments=[made.compartment],
                                     releasable_to=[home.country_id])  # fmt: skip
            ExerciseRun.objects.create(
                exercise=made, organisation=partner, document=hidden, protocol_version=version, registered_by=lead
            )
            world.canaries |= canaries_of("zqexrun")

    exercise(None, "WALK-EX-1", [home])
    exercise("zqexnotreadin", "WALK-EX-2", [home], read=False)
    exercise("zqexsecret", "WALK-EX-3", [home], tier_code="secret")
    exercise("zqexthird", "ZQEXTHIRDREF", [third], under=third_agreement, read=False)
    world.canaries.add("zqexthirdref")


def _session_of(user) -> SignedInSession:
    client = Client()
    login_verified(client, user)
    return SignedInSession.objects.filter(user=user).latest("created_at")


def _run(attachment, task: str) -> EvalRun:
    return EvalRun.objects.create(
        attachment_code=attachment.code,
        parse_status=EvalRun.ParseStatus.PARSED,
        parsed_at=timezone.now(),
        status="success",
        task=task,
        model="mockllm/model",
        created_at=timezone.now(),
    )
