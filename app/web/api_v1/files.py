"""Council API uploads and downloads: bulk import of a CSV or JSON Lines file, and exports of each resource."""

from __future__ import annotations

import os
import shutil
import tempfile

from flask import Response, current_app, stream_with_context

from app.services import imports
from app.services.imports import reader
from app.web.api_v1 import schemas as s
from app.web.api_v1.core import actor, new_blueprint, scoped
from app.web.api_v1.exports import EXPORTS, stream
from app.web.request_limits import upload_limit

uploads = new_blueprint("imports", "Bulk import from a file (imports:write)")
downloads = new_blueprint("exports", "Exports as CSV or JSON Lines (the resource's read scope)")
BLUEPRINTS = (uploads, downloads)


def _import_limit() -> int:
    return int(current_app.config["API_IMPORT_MAX_BYTES"])


@uploads.route("/imports/<any(providers, holders, budgets, bookings):kind>", methods=["POST"])
@upload_limit(_import_limit, streamed=True)
@scoped("imports:write")
@uploads.arguments(s.ImportArgs, location="query")
@uploads.arguments(s.ImportFile, location="files")
@uploads.response(200, s.ImportReportOut)
def import_file(args, files, kind: str):
    """Import a file as `carefair import` does: a dry run (dry_run=true) checks every row and
    writes nothing; a real run writes only when every row is good, and skips references
    imported before. The upload is copied to a temporary file in chunks, never held in memory."""
    upload = files["file"]
    fmt = reader.format_of(upload.filename or "", args.get("format"))
    handle, path = tempfile.mkstemp(prefix="carefair-import-", suffix="." + fmt)
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(upload.stream, out, length=1 << 20)
        report = imports.run(kind, path, fmt, actor=actor(), dry_run=args["dry_run"])
    finally:
        os.unlink(path)
    return report


@downloads.route("/exports/<any(providers, listings, holders, budgets, delegations, bookings, sessions, flags)"
                 ":resource>")
@scoped(lambda kwargs: EXPORTS[kwargs["resource"]].scope)
@downloads.arguments(s.ExportArgs, location="query")
@downloads.doc(responses={"200": {"description": "The rows, streamed", "content": {
    "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}})
def export(args, resource: str):
    fmt = args["format"]
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    filename = f"carefair-{resource}.{'csv' if fmt == 'csv' else 'jsonl'}"
    return Response(stream_with_context(stream(resource, fmt)), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

