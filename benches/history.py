"""What the history benches share: the fan-out config on the metric `lessons`
(benches/configs/fanout.toml without its webhook endpoint) and a file of random events,
as `trophyd import events` reads them."""
import json, os, random
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Pacific/Kiritimati"]


def write_config(path, admin_key=None):
    """trophy.toml with every feature of the fan-out config on `lessons`."""
    fanout = open(os.path.join(ROOT, "benches/configs/fanout.toml")).read().split("# --- one webhook endpoint")[0]
    admin = f'admin_keys = ["{admin_key}"]\n' if admin_key else ""
    with open(path, "w") as f:
        f.write(f'[auth]\napi_keys = ["bench"]\n{admin}\n[[metrics]]\nkey = "lessons"\nname = "Lessons"\n\n' + fanout)


def write_events(path, events, users, start, span_seconds, profiles=False, seed=7):
    """`events` events of value 1 for users u0..u{users-1} at random times in
    [start, start + span_seconds), in file order (the import sorts them). With `profiles`,
    each user has a name and an email; otherwise one of five zones."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(events):
            u = rng.randrange(users)
            at = start + timedelta(seconds=rng.randrange(span_seconds))
            user = ({"id": f"u{u}", "name": f"User {u}", "email": f"u{u}@example.com"} if profiles
                    else {"id": f"u{u}", "tz": ZONES[u % len(ZONES)]})
            f.write(json.dumps({"user": user, "metric": "lessons", "value": 1,
                                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ")}) + "\n")
