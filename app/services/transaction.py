"""The one way a use case ends: commit everything it wrote, or roll it all back and say why."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from app.errors import InsufficientFunds
from app.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def commit() -> None:
    """Commit the use case's whole unit of work (ledger legs, state, audit, notices, recorded
    payment operations). If the database's own ledger check refuses it at commit (the
    PostgreSQL constraint trigger: the last word on overspending), nothing is kept and the
    caller gets InsufficientFunds, as if the service had refused it itself."""
    try:
        db.session.commit()
    except DBAPIError as err:
        db.session.rollback()
        if "carefair_ledger" in str(err):
            raise InsufficientFunds("There is not enough money in this budget for that.",
                                    field="amount") from err
        raise


def use_case(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a public service function as one use case: if it refuses (a DomainError) or fails,
    everything it wrote is rolled back before the error reaches the caller, so a caller that
    carries on (a job's loop, a seed, the next request on this session) never commits half of
    it. The function itself ends with `commit()`."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return run
