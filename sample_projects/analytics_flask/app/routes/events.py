from flask import Blueprint, abort, current_app, jsonify, request

from app.services import ingest

bp = Blueprint("events", __name__, url_prefix="/events")


def _json_list(key):
    payload = request.get_json(silent=True) or {}
    items = payload.get(key)
    if not isinstance(items, list):
        abort(400, description=f"'{key}' must be a list")
    if len(items) > current_app.config["MAX_BATCH_SIZE"]:
        abort(413, description="batch too large")
    return items


@bp.post("/<int:account_id>")
def ingest_events(account_id):
    events = _json_list("events")
    try:
        accepted = ingest.ingest_batch(account_id, events)
    except ingest.InvalidEvent as exc:
        abort(400, description=str(exc))
    return jsonify(accepted=accepted, dropped=len(events) - accepted), 202


@bp.post("/<int:account_id>/corrections")
def correct_events(account_id):
    corrections = _json_list("corrections")
    updated = ingest.apply_corrections(account_id, corrections)
    return jsonify(updated=updated)
