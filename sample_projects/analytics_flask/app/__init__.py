import logging

import psycopg2.pool
from flask import Flask

from app.config import Config


def create_app(config_object=None):
    app = Flask(__name__)
    app.config.from_object(config_object or Config)
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    # One pool per worker process. gunicorn forks before create_app runs
    # (no --preload), so workers never share sockets.
    app.extensions["pg_pool"] = psycopg2.pool.ThreadedConnectionPool(
        app.config["DB_POOL_MIN"],
        app.config["DB_POOL_MAX"],
        dsn=app.config["DATABASE_URL"],
        application_name="analytics-api",
    )

    from app.routes import admin, events, reports

    app.register_blueprint(reports.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(admin.bp)

    return app
