"""A child process for the crash fault test: runs one booking use case and dies (os._exit) the
moment its first commit is done, before anything after it (such as a call to Stripe) can run.

    python -m tests.crash_child '<json: case ids, action, stripe url, instance dir>'

Exit status 70: died after a commit. 0: the use case returned without committing. 1: it raised.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DIED_AFTER_COMMIT = 70


def main() -> int:
    spec = json.loads(sys.argv[1])
    from datetime import datetime

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from app.extensions import db
    from tests.race_support import ACTIONS, Case, World, committed_app, set_clock

    app = committed_app(Path(spec["instance"]), stripe_url=spec["stripe_url"], pool_size=2)
    with app.app_context():
        case = Case(World(**spec["world"]), spec["mode"], spec["holder_id"],
                    booking_id=spec["booking_id"], session_id=spec["session_id"])
        if spec.get("now"):
            case.now = datetime.fromisoformat(spec["now"])
            set_clock(case.now)

        def die(session) -> None:
            os._exit(DIED_AFTER_COMMIT)  # the process is killed: nothing after the commit runs

        event.listen(Session, "after_commit", die)
        try:
            ACTIONS[spec["action"]](case)
        except Exception as err:  # noqa: BLE001  (reported to the parent by exit status)
            print(f"{type(err).__name__}: {err}", file=sys.stderr)
            return 1
        finally:
            db.session.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
