#!/usr/bin/env python3
"""Notifications against real protocol endpoints (issue #14): trophyd processes send their
emails to a real SMTP server (aiosmtpd, from PyPI) and their `emails.*_due` webhooks to a
local HTTP receiver; users and completions go through the official Python SDK
(`trophy==1.27.0`), and every webhook is parsed by the SDK's own payload models.

    python3 test_notifications.py --bin target/release/trophyd [--work DIR]
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiosmtpd.controller import Controller
from trophy import TrophyApi, UpsertedUser
from trophy.environment import TrophyApiEnvironment
from trophy.types.webhooks_emails_achievement_due_payload import WebhooksEmailsAchievementDuePayload
from trophy.types.webhooks_emails_reactivation_due_payload import WebhooksEmailsReactivationDuePayload
from trophy.types.webhooks_emails_recap_due_payload import WebhooksEmailsRecapDuePayload
from trophy.types.webhooks_emails_streak_reminder_due_payload import (
    WebhooksEmailsStreakReminderDuePayload,
)

from harness import Node, free_port, http, parse_args, run_tests, wait_until

API_KEY = "tr_ops_api_key"
ADMIN_KEY = "tr_ops_admin_key"
START = dt.datetime(2031, 3, 1, 10, 30, tzinfo=dt.timezone.utc)

MODELS = {
    "emails.achievement_due": WebhooksEmailsAchievementDuePayload,
    "emails.streak_reminder_due": WebhooksEmailsStreakReminderDuePayload,
    "emails.recap_due": WebhooksEmailsRecapDuePayload,
    "emails.reactivation_due": WebhooksEmailsReactivationDuePayload,
}


class Mailbox:
    """aiosmtpd handler keeping every message it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: List[email.message.EmailMessage] = []
        self.envelopes: List[List[str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.mailbox = Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=port)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()


class Hooks:
    """A webhook receiver: every POSTed JSON body, in order."""

    def __init__(self) -> None:
        self.bodies: List[Dict[str, Any]] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    outer.bodies.append(json.loads(raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, kind: str) -> List[Dict[str, Any]]:
        return [b for b in list(self.bodies) if b.get("type") == kind]


def config(smtp_port: int, hooks: Hooks) -> str:
    return f"""
[server]
default_timezone = "UTC"

[auth]
api_keys = ["{API_KEY}"]
admin_keys = ["{ADMIN_KEY}"]

[[metrics]]
key = "lessons"
name = "Lessons completed"
units = "lessons"

[streaks]
frequency = "daily"
evaluation_mode = "OR"
metrics = [{{ metric = "lessons", threshold = 1 }}]

[[achievements]]
key = "welcome"
name = "Welcome aboard"
description = "You joined the club."
trigger = "api"

[[webhooks]]
url = "{hooks.url}"
secret = "whsec_ops"
events = ["emails.achievement_due", "emails.streak_reminder_due", "emails.recap_due", "emails.reactivation_due"]

[emails]
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "Acme <streaks@acme.test>"
public_url = "https://gamify.acme.test"

[emails.achievement]
[emails.streak_reminder]
local_hour = 18
[emails.recap]
frequency = "weekly"
[emails.reactivation]
after_days = [3, 7, 14, 30]
"""


class Setup:
    def __init__(self, work: Path, name: str) -> None:
        self.dir = work / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.smtp_port = free_port()
        self.hooks = Hooks()
        self.config = self.dir / "trophy.toml"
        self.config.write_text(config(self.smtp_port, self.hooks))
        self.node = Node(ARGS.bin, self.config, self.dir / "trophy.db", test_clock=True)

    def start(self) -> "Setup":
        self.node.start()
        return self

    def sdk(self, key: str = API_KEY) -> TrophyApi:
        env = TrophyApiEnvironment(api=self.node.url + "/v1", admin=self.node.url + "/admin/v1")
        return TrophyApi(api_key=key, environment=env, max_retries=0, timeout=10)

    def clock(self, when: dt.datetime) -> None:
        stamp = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        status, body = http("POST", self.node.url + "/_test/clock", {"now": stamp},
                            headers={"X-API-KEY": ADMIN_KEY})
        assert status == 200, (status, body)

    def now(self) -> dt.datetime:
        status, body = http("GET", self.node.url + "/_test/clock", headers={"X-API-KEY": ADMIN_KEY})
        assert status == 200, body
        return dt.datetime.fromisoformat(body["now"].replace("Z", "+00:00"))

    def deliveries(self, status: Optional[str] = None) -> List[Dict[str, Any]]:
        query = f"?status={status}" if status else ""
        code, body = http("GET", self.node.url + f"/admin/v1/notifications/deliveries{query}",
                          headers={"X-API-KEY": ADMIN_KEY})
        assert code == 200, body
        return body["deliveries"]


def parsed(hooks: Hooks, kind: str) -> List[Any]:
    model = MODELS[kind]
    validate = getattr(model, "model_validate", None) or model.parse_obj  # pydantic 2, else 1
    return [validate(b) for b in hooks.of(kind)]


def test_achievement_email_to_a_real_smtp_server_with_one_click_unsubscribe() -> None:
    s = Setup(ARGS.work, "achievement").start()
    try:
        with SmtpServer(s.smtp_port) as smtp:
            s.clock(START)
            c = s.sdk()
            c.achievements.complete("welcome", user=UpsertedUser(
                id="ada", name="Ada", email="ada@acme.test", subscribe_to_emails=True))
            c.achievements.complete("welcome", user=UpsertedUser(
                id="bob", email="bob@acme.test", subscribe_to_emails=False))
            wait_until(lambda: smtp.mailbox.count() >= 1, 20, "the email")
            wait_until(lambda: len(s.hooks.of("emails.achievement_due")) >= 1, 20, "the webhook")
            s.clock(START + dt.timedelta(seconds=5))
            assert smtp.mailbox.count() == 1, smtp.mailbox.envelopes
            assert smtp.mailbox.envelopes[0] == ["ada@acme.test"], smtp.mailbox.envelopes
            mail = smtp.mailbox.messages[0]
            assert "Welcome aboard" in mail["Subject"], mail["Subject"]
            assert mail["To"].addresses[0].addr_spec == "ada@acme.test"
            assert mail.get_content_type() == "multipart/alternative"
            html = mail.get_body(preferencelist=("html",)).get_content()
            text = mail.get_body(preferencelist=("plain",)).get_content()
            assert "Welcome aboard" in html and "Welcome aboard" in text
            assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            link = mail["List-Unsubscribe"].strip("<>")
            assert link.startswith("https://gamify.acme.test/emails/unsubscribe?token="), link

            (hook,) = parsed(s.hooks, "emails.achievement_due")
            assert hook.user.id == "ada" and hook.achievement.key == "welcome"
            assert [d["status"] for d in s.deliveries()] == ["sent"]

            # One-click: the mail client POSTs the link; no API key.
            token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
            code, page = http("POST", s.node.url + "/emails/unsubscribe?token=" + urllib.parse.quote(token),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert code == 200, (code, page)
            prefs = c.users.get_preferences("ada")
            assert prefs.notifications.achievement_completed == ["push"], prefs
    finally:
        s.node.stop()


def test_every_due_webhook_parses_with_the_sdk_models() -> None:
    s = Setup(ARGS.work, "all-types").start()
    try:
        with SmtpServer(s.smtp_port) as smtp:
            s.clock(START)  # Saturday 1 March 2031, 16:00 in Kolkata
            c = s.sdk()
            c.users.create(id="kay", name="Kay", email="kay@acme.test", tz="Asia/Kolkata",
                           subscribe_to_emails=True)
            c.metrics.event("lessons", user=UpsertedUser(id="kay"), value=1)
            # 18:00 on Sunday 2 March in Kolkata (12:30Z): the streak is at risk.
            s.clock(dt.datetime(2031, 3, 2, 12, 30, tzinfo=dt.timezone.utc))
            (reminder,) = parsed(s.hooks, "emails.streak_reminder_due")
            assert reminder.streak.length == 1, reminder
            # Monday 3 March 09:00 Kolkata (03:30Z): the recap of the week before.
            s.clock(dt.datetime(2031, 3, 3, 3, 30, tzinfo=dt.timezone.utc))
            (recap,) = parsed(s.hooks, "emails.recap_due")
            assert (str(recap.recap.period_start), str(recap.recap.period_end)) == \
                ("2031-02-24", "2031-03-02"), recap
            # Three days after the event (Tuesday 4 March 16:00 Kolkata).
            s.clock(dt.datetime(2031, 3, 4, 10, 30, tzinfo=dt.timezone.utc))
            (reactivation,) = parsed(s.hooks, "emails.reactivation_due")
            assert reactivation.reactivation.message_number == 1
            assert reactivation.reactivation.days_since_last_active == 3
            c.achievements.complete("welcome", user=UpsertedUser(id="kay"))
            wait_until(lambda: len(s.hooks.of("emails.achievement_due")) == 1, 20, "achievement_due")
            parsed(s.hooks, "emails.achievement_due")
            wait_until(lambda: smtp.mailbox.count() == 4, 20, "four emails")
            subjects = sorted(m["Subject"] for m in smtp.mailbox.messages)
            assert all(subjects), subjects
    finally:
        s.node.stop()


def test_a_crash_between_due_and_sent_delivers_once() -> None:
    s = Setup(ARGS.work, "crash").start()
    try:
        s.clock(START)
        s.sdk().achievements.complete("welcome", user=UpsertedUser(
            id="ada", email="ada@acme.test", subscribe_to_emails=True))
        # No SMTP server yet: the attempt fails and the message waits for its retry.
        wait_until(lambda: any(d["attempts"] >= 1 for d in s.deliveries("pending")), 20,
                   "a failed first attempt")
        s.node.kill9()
        with SmtpServer(s.smtp_port) as smtp:
            s.node.start()
            s.clock(START + dt.timedelta(minutes=2))
            wait_until(lambda: smtp.mailbox.count() >= 1, 20, "the email after the restart")
            s.clock(START + dt.timedelta(hours=3))
            assert smtp.mailbox.count() == 1, smtp.mailbox.envelopes
            assert [d["status"] for d in s.deliveries()] == ["sent"]
    finally:
        s.node.stop()


ARGS = parse_args(__doc__ or "")

if __name__ == "__main__":
    raise SystemExit(run_tests([
        ("achievement email, one-click unsubscribe",
         test_achievement_email_to_a_real_smtp_server_with_one_click_unsubscribe),
        ("every emails.*_due webhook parses with the SDK", test_every_due_webhook_parses_with_the_sdk_models),
        ("crash between due and sent", test_a_crash_between_due_and_sent_delivers_once),
    ]))
