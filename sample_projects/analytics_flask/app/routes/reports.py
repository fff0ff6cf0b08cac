from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, current_app, jsonify, request

from app.services import reports

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _account_ids_from_request():
    ids = request.args.getlist("account_id", type=int)
    if not ids:
        abort(400, description="at least one account_id is required")
    if len(ids) > current_app.config["MAX_REPORT_ACCOUNTS"]:
        abort(400, description="too many accounts in one report")
    return ids


def _since_from_request(default_days=30):
    raw = request.args.get("since")
    if not raw:
        return datetime.now(timezone.utc) - timedelta(days=default_days)
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        abort(400, description="since must be an ISO-8601 date")


@bp.get("/overview")
def overview():
    return jsonify(accounts=reports.build_account_overview(_account_ids_from_request()))


@bp.get("/usage")
def usage():
    ids = _account_ids_from_request()
    return jsonify(rows=reports.build_usage_report(ids, _since_from_request()))


@bp.get("/revenue")
def revenue():
    ids = _account_ids_from_request()
    currency = request.args.get("currency", current_app.config["DEFAULT_CURRENCY"]).upper()
    return jsonify(rows=reports.build_revenue_report(ids, currency))


@bp.route("/accounts/<int:account_id>/periods", methods=["GET"])
def periods(account_id):
    return jsonify(account_id=account_id, totals=reports.period_totals(account_id))
