"""gunicorn's settings for production (`gunicorn -c contrib_budget/gunicorn.conf.py contrib_budget.wsgi`).

Threads, not processes, carry the concurrency: a request spends much of its time waiting on PostgreSQL, and a
thread waits for ~1 MB where a process costs ~80 MB. Two processes per two cores, four threads each, were measured
best for allocations and reads (README, "Serving in production"); WEB_WORKERS and WEB_THREADS change them. Each
thread keeps one database connection (CONN_MAX_AGE), so a server holds WEB_WORKERS x WEB_THREADS connections.
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# Keep-alive lets a client (or the proxy in front) reuse its connection between requests.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "30"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
# A worker is replaced after this many requests (with jitter, so they do not all restart at once): memory that
# a long life gathers is given back.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
