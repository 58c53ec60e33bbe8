"""Notification throughput (not a test): e-mails per minute from the outbox through
a real Celery worker (prefork, 2 processes) on Redis to a local SMTP server, against
a bare smtplib loop (one connection per message, as the worker does) in the same run.

    python bench/notifications.py [--emails 400]
"""

import argparse
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.mail import LocalSmtpServer  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402


def bare_smtplib(smtp: LocalSmtpServer, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "bench@example.vn", f"k{n}@example.vn", "Bench"
        message.set_content("Xin chào")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
            client.send_message(message)
    return time.perf_counter() - started


def through_the_worker(smtp: LocalSmtpServer, count: int, base: Path) -> float:
    redis = RedisServer().start()
    env = {
        **os.environ,
        "SHOP_INSTANCE_DIR": str(base),
        "DATABASE_URL": f"sqlite:///{base / 'shop.db'}",
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench",
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": str(smtp.port),
        "MAIL_USE_TLS": "0",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    code = f"""
from shop import create_app
from shop.extensions import db
from shop.notifications.models import OutboxEmail
app = create_app()
with app.app_context():
    db.session.add_all(OutboxEmail(kind="bench", dedupe_key=f"bench:{{n}}", to_email=f"k{{n}}@example.vn",
                                   subject="Bench", text_body="Xin chào", html_body="<p>Xin chào</p>")
                       for n in range({count}))
    db.session.commit()  # the after-commit hook queues one task per row
"""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.celery_app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # let the worker connect
        before = len(smtp.messages)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
        smtp.wait_for(before + count, timeout=600)
        return time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)
        redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=400)
    args = parser.parse_args()
    smtp = LocalSmtpServer().start()
    try:
        baseline = bare_smtplib(smtp, args.emails)
        with tempfile.TemporaryDirectory(prefix="ocop-bench-mail-") as tmp:
            worker = through_the_worker(smtp, args.emails, Path(tmp))
    finally:
        smtp.stop()
    per_min = lambda seconds: args.emails / seconds * 60  # noqa: E731
    print(f"bare smtplib loop : {per_min(baseline):8.0f} e-mails/min ({baseline:.1f} s for {args.emails})")
    print(f"outbox via worker : {per_min(worker):8.0f} e-mails/min ({worker:.1f} s for {args.emails})")
    print(f"ratio             : {baseline / worker:8.0%} of the bare loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
