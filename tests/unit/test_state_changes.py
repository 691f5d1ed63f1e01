"""Booking, session, pooled-share and payment states change in one place each (convention 16):
app.domain.bookings.move, app.domain.pooling.move_share and app.domain.payments.move_payment.
This reads every module of app/ and fails on any other write of those states, so a new use
case cannot set `booking.state = "cancelled"` beside the transition table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.domain import bookings as rules
from app.domain import payments
from app.domain.pooling import ShareState, move_share
from app.models import Booking, BookingSession, Payment, PoolParticipant

APP = Path(__file__).resolve().parents[2] / "app"

# Where a write of these states is the transition function itself.
TRANSITION_FUNCTIONS = {("app/domain/bookings.py", "move"), ("app/domain/pooling.py", "move_share")}
# Constructors of rows whose state only the transition functions move: the first state they
# may be given (a booking and its sessions are created as enquiries and moved on by events).
FIRST_STATES = {"Booking": {"ENQUIRY"}, "BookingSession": {"ENQUIRY"},
                "PoolParticipant": {"JOINED"}, "Payment": {"PENDING"}}
# Whole rows written without the ORM, each for a stated reason.
ALLOWED_BULK = {
    # The council's historical import writes support that happened before Carefair, settled.
    "app/services/imports/history.py",
}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def state_writes(source: str, path: str) -> list[str]:
    """Every write of a booking, session, share or payment state in `source` that does not go
    through its transition function, as "path:line what"."""
    tree = ast.parse(source)
    found: list[str] = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]

    def inside_transition(node: ast.AST) -> bool:
        return any((path, f.name) in TRANSITION_FUNCTIONS and f.lineno <= node.lineno <= (
            f.end_lineno or f.lineno) for f in functions)

    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets, value = [node.target], node.value
        for target in targets:
            if not isinstance(target, ast.Attribute):
                continue
            if target.attr == "state" and not inside_transition(node):
                found.append(f"{path}:{node.lineno} {ast.unparse(node)[:80]}")
            elif target.attr == "status" and "payment" in _name(target.value).lower():
                moved = isinstance(value, ast.Call) and _name(value.func) == "move_payment"
                if not moved:
                    found.append(f"{path}:{node.lineno} {ast.unparse(node)[:80]}")
        if isinstance(node, ast.Call):
            called = _name(node.func)
            for keyword in node.keywords:
                if (called in FIRST_STATES and keyword.arg in ("state", "status")
                        and _name(keyword.value) not in FIRST_STATES[called]):
                        found.append(f"{path}:{node.lineno} {called}({keyword.arg}="
                                     f"{ast.unparse(keyword.value)})")
                # update(Booking).values(state=...) and the like.
                if called == "values" and keyword.arg == "state":
                    found.append(f"{path}:{node.lineno} .values(state=...)")
            if called == "values" and any(isinstance(a, ast.Dict) and any(
                    isinstance(k, ast.Constant) and k.value == "state" for k in a.keys)
                    for a in node.args):
                found.append(f"{path}:{node.lineno} .values({{'state': ...}})")
        if (isinstance(node, ast.Dict) and path not in ALLOWED_BULK and any(
                isinstance(k, ast.Constant) and k.value == "state" for k in node.keys)
                and _inside_bulk_write(tree, node)):
            found.append(f"{path}:{node.lineno} a row dict with 'state'")
    return found


def _inside_bulk_write(tree: ast.AST, dict_node: ast.Dict) -> bool:
    """A dict literal passed (directly or in a list) to insert()/update()/execute()."""
    for call in ast.walk(tree):
        if (isinstance(call, ast.Call) and _name(call.func) in (
                "insert", "update", "execute", "values", "bulk_insert_mappings")
                and any(dict_node is n for a in call.args for n in ast.walk(a))):
            return True
    return False


def test_no_state_is_written_outside_its_transition_function():
    offenders: list[str] = []
    for file in sorted(APP.rglob("*.py")):
        path = file.relative_to(APP.parent).as_posix()
        offenders += state_writes(file.read_text(encoding="utf-8"), path)
    assert offenders == [], "\n".join(offenders)


def test_the_scan_catches_each_way_round_it():
    planted = '''
def cancel(booking, payment, part):
    booking.state = "cancelled"
    booking.sessions[0].state = S.CANCELLED
    payment.status = "captured"
    part.state = ShareState.PAID
    Booking(kind="one_off", state=S.FUNDS_HELD)
    db.session.execute(update(BookingSession).values(state="settled"))
'''
    found = state_writes(planted, "app/services/example.py")
    assert len(found) == 6, found
    fine = '''
def cancel(booking, payment):
    rules.move(booking, Event.CANCEL, kind)
    payment.status = rules.move_payment(payment.status, rules.CANCELED)
    Booking(kind="one_off", state=S.ENQUIRY)
    if booking.state == S.CANCELLED:
        pass
'''
    assert state_writes(fine, "app/services/example.py") == []


def test_move_refuses_what_the_table_refuses_and_changes_nothing():
    booking = Booking(state=rules.BookingState.REQUESTED)
    assert rules.move(booking, rules.Event.ACCEPT, rules.ActorKind.PROVIDER) is \
        rules.BookingState.ACCEPTED
    with pytest.raises(rules.IllegalTransition):
        rules.move(booking, rules.Event.CONFIRM, rules.ActorKind.HOLDER)
    assert booking.state is rules.BookingState.ACCEPTED
    session = BookingSession(state=rules.BookingState.SETTLED)
    assert rules.move(Booking(state=rules.BookingState.FUNDS_HELD), rules.Event.FINISH,
                      rules.ActorKind.SYSTEM) is rules.BookingState.SETTLED
    with pytest.raises(rules.IllegalTransition):
        rules.move(session, rules.Event.FINISH, rules.ActorKind.SYSTEM)


def test_a_share_moves_once_and_a_payment_only_along_its_table():
    part = PoolParticipant(state=ShareState.JOINED)
    assert move_share(part, ShareState.PAID) is ShareState.PAID
    assert move_share(part, ShareState.RELEASED) is ShareState.PAID  # paid stays paid
    assert payments.move_payment(payments.AUTHORISED, payments.CAPTURED) is payments.CAPTURED
    with pytest.raises(payments.IllegalPaymentMove):
        payments.move_payment(payments.REFUNDED, payments.AUTHORISED)
    assert Payment(status=payments.PENDING).status == "pending"  # the same stored strings
