"""gunicorn settings: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Every value can be changed from the environment (GUNICORN_BIND, GUNICORN_WORKERS, ...).
Processes share nothing in memory: rate limits and caches go through Redis when REDIS_URL
is set, sessions are signed cookies, and sign-in flows live in the database.
"""

import multiprocessing
import os
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests mostly wait on the database, so a few more workers than cores keep them busy.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# One thread per worker: requests are short, and a second thread in the same process mostly
# waits for the first one's share of the interpreter, which lengthens the slowest requests.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request that hangs (a database that stopped answering) is ended, never left to pile up.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# count.js asks for many page URLs in one GET; allow the longest request line gunicorn can.
limit_request_line = 8190
# Off unless asked for: a busy worker would restart every few seconds, and the requests queued
# behind a restarting worker wait for it.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# The reverse proxy in front keeps the access log; set GUNICORN_ACCESSLOG=- to have one here too.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# No query strings in the access log: thread URLs and edit tokens travel there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
raw_env = ["AFTERWORD_ENV=" + os.environ.get("AFTERWORD_ENV", "production")]

# prometheus_client adds up every worker's metrics from files in this directory.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="afterword-metrics-")


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    # Once the sockets are bound: warn if PUBLIC_URL cannot be this server (app/serving.py).
    from app.serving import check_gunicorn
    from config import config_from_env

    listeners = [
        address[:2]
        for address in (listener.sock.getsockname() for listener in server.LISTENERS)
        if isinstance(address, tuple)  # a unix socket has no host and port to compare
    ]
    check_gunicorn(config_from_env().PUBLIC_URL, listeners)
