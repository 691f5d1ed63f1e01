"""Job posts: a holder's side (or a broker) describes support needed; matching providers are told
in fair turns, reply with interest, and the holder's side compares, shortlists, messages and books.

Transactions: each public function that changes something is one use case and commits once,
locking the job row first so that replies, turns and closing cannot cross. Notices and the
audit join that transaction (notify and audit never commit).

Privacy: providers see a job's district, kind of help, times, skills, languages and rate, never
the holder's name; they see a job only once their turn to hear about it has come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import clock
from app.domain.access import Role
from app.domain.districts import parse_job_district
from app.domain.jobs import GENDER_PREFERENCE_CATEGORIES, Candidate, JobCriteria, matches, next_turn
from app.domain.listings import Category, DistrictError, PriceUnit, Specialism
from app.domain.notifications import Event
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Listing, ProviderDistrict, ProviderProfile, ProviderRestriction, User
from app.models.jobs import JobNotice, JobPost, JobReply, ShortlistEntry
from app.services import audit, council_settings, notify, providers
from app.services.shortlists import require_finder

MAX_TITLE = 120
MAX_DETAILS = 2000
MAX_WHEN = 200
MAX_REPLY = 2000


def _settings():
    return council_settings.current()


def reference(job: JobPost | int) -> str:
    return f"J-{job if isinstance(job, int) else job.id}"


@dataclass(frozen=True)
class JobInput:
    """What the holder's side typed, checked by the form for shape and here for sense."""

    category: str
    district: str
    title: str
    when: str
    hours_per_week: int
    max_rate_pence: int
    details: str = ""
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    preferred_gender: str | None = None


def _checked(data: JobInput) -> JobInput:
    try:
        category = Category(data.category).value
    except ValueError:
        raise InvalidInput("Choose the kind of help from the list", field="category") from None
    try:
        district = parse_job_district(data.district)
    except DistrictError as err:
        raise InvalidInput(str(err), field="district") from None
    title = (data.title or "").strip()
    if not title:
        raise InvalidInput("Say in a few words what help is needed", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"Keep the title to {MAX_TITLE} characters or fewer", field="title")
    when = (data.when or "").strip()
    if not when:
        raise InvalidInput("Say when the support is needed, like “Tuesday and Thursday mornings”",
                           field="when")
    if len(when) > MAX_WHEN:
        raise InvalidInput(f"Keep this to {MAX_WHEN} characters or fewer", field="when")
    details = (data.details or "").strip()
    if len(details) > MAX_DETAILS:
        raise InvalidInput(f"Keep the details to {MAX_DETAILS} characters or fewer", field="details")
    if not isinstance(data.hours_per_week, int) or not 1 <= data.hours_per_week <= 168:
        raise InvalidInput("Enter the hours a week as a whole number from 1 to 168", field="hours_per_week")
    if not isinstance(data.max_rate_pence, int) or data.max_rate_pence <= 0:
        raise InvalidInput("Enter the most the budget allows an hour, like 16.50", field="max_rate")
    if data.max_rate_pence > _settings().max_price_pence["hour"]:
        raise InvalidInput("That rate is higher than any listing may charge. Check the amount",
                           field="max_rate")
    skills = tuple(dict.fromkeys(data.skills))
    if any(s not in {x.value for x in Specialism} for s in skills):
        raise InvalidInput("Choose skills from the list", field="skills")
    languages = tuple(dict.fromkeys(x.strip()[:40] for x in data.languages if x and x.strip()))
    gender = (data.preferred_gender or "").strip()[:40] or None
    if gender and category not in GENDER_PREFERENCE_CATEGORIES:
        raise InvalidInput("A preferred gender can be asked for personal care only", field="preferred_gender")
    return JobInput(category=category, district=district, title=title, when=when,
                    hours_per_week=data.hours_per_week, max_rate_pence=data.max_rate_pence,
                    details=details, skills=skills, languages=languages, preferred_gender=gender)


def criteria_of(job: JobPost) -> JobCriteria:
    return JobCriteria(category=job.category, district=job.district, max_rate_pence=job.max_rate_pence,
                       languages=tuple(job.languages or ()), skills=tuple(job.skills or ()),
                       preferred_gender=job.preferred_gender)


def candidates(criteria: JobCriteria) -> list[Candidate]:
    """Live hourly listings in the category from providers working in the district, at or under
    the rate, with when each provider was last told about any job. One query each; the finer
    tests (languages, gender) run in the domain over what SQL narrowed down."""
    # Correlated per candidate (index on job_notices.profile_id): grouping the whole notice
    # history would grow with every job ever posted.
    last_told = (select(func.max(JobNotice.sent_at)).where(JobNotice.profile_id == Listing.profile_id)
                 .correlate(Listing).scalar_subquery().label("at"))
    rows = db.session.execute(
        select(Listing.id, Listing.profile_id, Listing.price_pence, ProviderProfile.languages,
               ProviderProfile.specialisms, ProviderProfile.gender, last_told)
        .join(ProviderProfile, ProviderProfile.id == Listing.profile_id)
        .join(ProviderDistrict, (ProviderDistrict.profile_id == Listing.profile_id)
              & (ProviderDistrict.district == criteria.district))
        .where(Listing.is_live.is_(True), Listing.category == criteria.category,
               Listing.price_unit == PriceUnit.HOUR.value,
               Listing.price_pence <= criteria.max_rate_pence,
               # A provider a broker has restricted (payouts held) cannot reply, so telling them
               # would only take a place in the turn from someone who can (as cover does).
               ~exists().where(ProviderRestriction.provider_profile_id == Listing.profile_id,
                               ProviderRestriction.listings_suspended.is_(True)
                               | ProviderRestriction.payouts_held.is_(True)))
        .order_by(Listing.id)).all()
    found = [Candidate(profile_id=r.profile_id, listing_id=r.id, rate_pence_per_hour=r.price_pence,
                       districts=frozenset({criteria.district}), languages=frozenset(r.languages or ()),
                       specialisms=frozenset(r.specialisms or ()), gender=r.gender, last_told_at=r.at)
             for r in rows]
    return [c for c in found if matches(criteria, c)]


def _lock(job_id: int) -> JobPost:
    job = db.session.scalar(select(JobPost).where(JobPost.id == job_id).with_for_update()
                            .execution_options(populate_existing=True))
    if job is None:
        raise NotFound("We could not find that job.")
    return job


def _interested(job: JobPost) -> list[JobReply]:
    return [r for r in job.replies if r.status == "interested"]


def _tell_next_turn(job: JobPost, now: datetime) -> int:
    """Tell the next turn of matching providers (joins the caller's transaction)."""
    settings = _settings()
    told = set(db.session.scalars(select(JobNotice.profile_id).where(JobNotice.job_id == job.id)))
    turn = next_turn(job.id, candidates(criteria_of(job)), told, settings.job_notice_batch)
    job.rounds_sent += 1 if turn else 0
    for profile_id in turn:
        db.session.add(JobNotice(job_id=job.id, profile_id=profile_id, round=job.rounds_sent, sent_at=now))
        profile = db.session.get(ProviderProfile, profile_id)
        if profile is not None:
            notify.send(Event.JOB_MATCHED, profile.user, link=f"/provider/jobs/{job.id}",
                        context={"reference": reference(job)})
    more_waiting = len(turn) == settings.job_notice_batch
    job.next_round_at = now + timedelta(hours=settings.job_notice_turn_hours) if more_waiting else None
    if turn:
        audit.record(None, "job.providers_told", "job_post", job.id,
                     details={"round": job.rounds_sent, "providers": len(turn)}, at=now)
    return len(turn)


def post(actor: User, holder: User, data: JobInput) -> JobPost:
    """Post a job for the holder and tell the first turn of matching providers.

    Raises NotFound (not this actor's holder), InvalidInput (field named), Conflict (too many
    open jobs)."""
    require_finder(actor, holder)
    if holder.role_enum is not Role.HOLDER:
        raise NotFound("There is no such budget holder.")
    clean = _checked(data)
    now = clock.now()
    db.session.execute(select(User.id).where(User.id == holder.id).with_for_update())
    open_jobs = db.session.scalar(select(func.count(JobPost.id))
                                  .where(JobPost.holder_id == holder.id, JobPost.status == "open")) or 0
    if open_jobs >= _settings().job_max_open_per_holder:
        raise Conflict("There are already several open job posts. Close one you no longer need first.")
    job = JobPost(holder_id=holder.id, posted_by_id=actor.id, category=clean.category,
                  district=clean.district, title=clean.title, details=clean.details, when=clean.when,
                  hours_per_week=clean.hours_per_week, skills=list(clean.skills),
                  languages=list(clean.languages), preferred_gender=clean.preferred_gender,
                  max_rate_pence=clean.max_rate_pence, status="open", created_at=now)
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "job.posted", "job_post", job.id, on_behalf_of=holder,
                 details={"category": job.category, "district": job.district,
                          "max_rate_pence": job.max_rate_pence})
    _tell_next_turn(job, now)
    db.session.commit()
    return job


def run_due(now: datetime | None = None) -> int:
    """Send the next turn for open jobs whose turn is due and that lack enough replies.

    For cron (`carefair jobs notify`, hourly); each job is its own transaction, and a second run
    at once skips jobs the first has locked, so no provider is told twice."""
    now = now or clock.now()
    due_ids = list(db.session.scalars(select(JobPost.id).where(
        JobPost.status == "open", JobPost.next_round_at.is_not(None), JobPost.next_round_at <= now)
        .order_by(JobPost.id)))
    db.session.rollback()
    told = 0
    for job_id in due_ids:
        job = db.session.scalar(select(JobPost).where(JobPost.id == job_id)
                                .with_for_update(skip_locked=True)
                                .execution_options(populate_existing=True))
        if job is None or job.status != "open" or job.next_round_at is None or job.next_round_at > now:
            db.session.rollback()
            continue
        if len(_interested(job)) >= _settings().job_enough_replies:
            job.next_round_at = None
        else:
            told += _tell_next_turn(job, now)
        db.session.commit()
    return told


def jobs_of_holder(actor: User, holder: User) -> list[JobPost]:
    require_finder(actor, holder)
    return list(db.session.scalars(select(JobPost).where(JobPost.holder_id == holder.id)
                                   .options(selectinload(JobPost.replies))
                                   .order_by(JobPost.created_at.desc(), JobPost.id.desc())))


def job_for_holder(actor: User, holder: User, job_id: int) -> JobPost:
    require_finder(actor, holder)
    job = db.session.get(JobPost, job_id)
    if job is None or job.holder_id != holder.id:
        raise NotFound("We could not find that job.")
    return job


def _profile_of(provider: User) -> ProviderProfile:
    profile = providers.profile_of(provider)  # the one lookup of a provider's profile
    if profile is None:
        raise NotFound("We could not find that job.")
    return profile


def _offers_the_help(profile_id: int):
    """The provider still offers the job's kind of help through a live listing: live means
    vetted and not suspended (vetting.refresh_visibility), so a provider whose checks ran out,
    who was suspended, or who withdrew that service no longer sees the job (a job post says
    where a person lives and what personal care they need)."""
    return exists().where(Listing.profile_id == profile_id, Listing.category == JobPost.category,
                          Listing.is_live.is_(True))


def jobs_for_provider(provider: User) -> list[tuple[JobPost, JobReply | None]]:
    """Jobs this provider has been told about and may still see, open ones first, newest first,
    with their reply (none before they have a profile)."""
    profile = providers.profile_of(provider)
    if profile is None:
        return []
    jobs = db.session.scalars(
        select(JobPost).join(JobNotice, JobNotice.job_id == JobPost.id)
        .where(JobNotice.profile_id == profile.id, _offers_the_help(profile.id))
        .order_by((JobPost.status == "open").desc(), JobNotice.sent_at.desc(), JobPost.id.desc())).all()
    replies = {r.job_id: r for r in db.session.scalars(
        select(JobReply).where(JobReply.profile_id == profile.id))}
    return [(job, replies.get(job.id)) for job in jobs]


def job_for_provider(provider: User, job_id: int) -> tuple[JobPost, JobReply | None]:
    """A job the provider was told about (their turn has come) and still offers the help for
    through a live listing (_offers_the_help), else NotFound."""
    profile = _profile_of(provider)
    told = db.session.scalar(select(JobNotice.id).where(JobNotice.job_id == job_id,
                                                        JobNotice.profile_id == profile.id))
    job = db.session.scalar(select(JobPost).where(JobPost.id == job_id, _offers_the_help(profile.id)))
    if told is None or job is None:
        raise NotFound("We could not find that job.")
    reply_row = db.session.scalar(select(JobReply).where(JobReply.job_id == job_id,
                                                         JobReply.profile_id == profile.id))
    return job, reply_row


def matching_listings(provider: User, job: JobPost) -> list[Listing]:
    """The provider's live listings a reply can offer for this job (same kind of help)."""
    profile = _profile_of(provider)
    return [x for x in profile.listings if x.is_live and x.category == job.category]


def reply(provider: User, job_id: int, message: str, listing_id: int | None = None) -> JobReply:
    """Say you are interested, with a message. Raises NotFound, NotPermitted (the provider is
    under restriction), Conflict (closed, or replied), InvalidInput (message)."""
    from app.domain.messaging import clean_body
    from app.services.restrictions import is_restricted

    profile = _profile_of(provider)
    job_for_provider(provider, job_id)
    if is_restricted(profile.id):
        # A provider whose listings are suspended or payouts held reaches holders only through
        # a broker (issue 13): a reply would put their message in front of a new holder.
        raise NotPermitted("You cannot reply to job posts while a broker is reviewing your "
                           "account. Your flags page says why.")
    job = _lock(job_id)
    if job.status != "open":
        raise Conflict("This job has closed, so it cannot take replies.")
    text = clean_body(message)
    if len(text) > MAX_REPLY:
        raise InvalidInput(f"Keep your message to {MAX_REPLY} characters or fewer", field="message")
    if listing_id is not None and listing_id not in {x.id for x in matching_listings(provider, job)}:
        raise InvalidInput("Choose one of your services for this kind of help", field="listing_id")
    row = JobReply(job_id=job.id, profile_id=profile.id, listing_id=listing_id, message=text,
                   status="interested", created_at=clock.now())
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("You have already replied to this job.") from None
    audit.record(provider, "job.replied", "job_reply", row.id, details={"job_id": job.id})
    holder = job.holder
    notify.send(Event.JOB_REPLY, holder, about_holder=holder, link=f"/my/jobs/{job.id}",
                context={"provider": _Named(profile.display_name), "reference": reference(job)})
    db.session.commit()
    return row


def withdraw(provider: User, job_id: int) -> JobReply:
    """Take back a reply. Allowed even once the provider may no longer see the job (their checks
    ran out): taking a reply back never needs vetting. Raises NotFound, Conflict."""
    profile = _profile_of(provider)
    if db.session.scalar(select(JobNotice.id).where(JobNotice.job_id == job_id,
                                                    JobNotice.profile_id == profile.id)) is None:
        raise NotFound("We could not find that job.")
    _lock(job_id)
    row = db.session.scalar(select(JobReply).where(JobReply.job_id == job_id,
                                                   JobReply.profile_id == profile.id).with_for_update())
    if row is None or row.status != "interested":
        raise Conflict("There is no reply of yours to withdraw.")
    row.status = "withdrawn"
    audit.record(provider, "job.reply_withdrawn", "job_reply", row.id, details={"job_id": job_id})
    db.session.commit()
    return row


@dataclass(frozen=True)
class _Named:
    """A provider's public name for a notification's PERSON field."""

    name: str


def shortlist_reply(actor: User, holder: User, job_id: int, reply_id: int) -> ShortlistEntry:
    """Put the provider who replied on the holder's shortlist, noting the job."""
    from app.services import shortlists

    job = job_for_holder(actor, holder, job_id)
    found = next((r for r in job.replies if r.id == reply_id), None)
    if found is None:
        raise NotFound("We could not find that reply.")
    return shortlists.add(actor, holder, profile_id=found.profile_id, listing_id=found.listing_id,
                          note=f"Replied to job {reference(job)}")


def close(actor: User, holder: User, job_id: int, *, filled_by_reply_id: int | None = None) -> JobPost:
    """Close a job, as filled by one reply or not needed any more; every provider who replied
    is told it has closed (only that: not whom the holder chose)."""
    job_for_holder(actor, holder, job_id)
    job = _lock(job_id)
    if job.status != "open":
        raise Conflict("This job is already closed.")
    filled_by = None
    if filled_by_reply_id is not None:
        # Only a reply still standing: a provider who took theirs back is not doing the job.
        filled_by = next((r for r in _interested(job) if r.id == filled_by_reply_id), None)
        if filled_by is None:
            raise InvalidInput("Choose who is doing the job from the replies", field="filled_by")
    job.status = "filled" if filled_by else "closed"
    job.filled_by_profile_id = filled_by.profile_id if filled_by else None
    job.closed_at = clock.now()
    job.next_round_at = None
    for row in job.replies:
        notify.send(Event.JOB_CLOSED, row.profile.user, link=f"/provider/jobs/{job.id}",
                    context={"reference": reference(job)})
    audit.record(actor, "job.closed", "job_post", job.id, on_behalf_of=holder,
                 details={"status": job.status, "filled_by_profile_id": job.filled_by_profile_id,
                          "replies_told": len(job.replies)})
    db.session.commit()
    return job


def told_count(job: JobPost) -> int:
    return db.session.scalar(select(func.count(JobNotice.id)).where(JobNotice.job_id == job.id)) or 0


def ensure_provider(actor: User) -> None:
    if actor.role_enum is not Role.PROVIDER:
        raise NotPermitted("Only providers can reply to jobs.")
