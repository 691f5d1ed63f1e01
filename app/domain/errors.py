"""The DomainError hierarchy: refusals people can understand, each carrying its HTTP meaning."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can understand. The message is shown to them as it is."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid_input"


class NotPermitted(DomainError):
    status_code = 403
    code = "not_permitted"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class NeedsApproval(Conflict):
    code = "needs_approval"


class NotAuthenticated(DomainError):
    """No credentials, or ones that are not (or no longer) valid: an API token missing, unknown,
    expired or revoked. The same code as a plain 401, so API clients see one refusal."""

    status_code = 401
    code = "unauthorized"
class InvariantBroken(RuntimeError):
    """Something the code relies on is not true (a bug or a damaged row), never bad input.

    Raised instead of `assert`, which `python -O` removes: money code must stop, roll back and
    be logged (a 500) rather than carry on with a missing budget or amount.
    """
