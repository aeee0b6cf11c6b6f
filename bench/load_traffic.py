"""The mixed traffic of bench/load.py: anonymous readers, members reading and voting, writers
asking and answering, and a trace upload every few seconds, each a thread with its own
keep-alive session, recording every request's page, status and latency."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import requests

from bench.load_checks import Ledger

# Production settings redirect plain HTTP to HTTPS unless the TLS proxy says it terminated it.
PROXY_HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
REQUEST_TIMEOUT_SECONDS = 30
# Writes per person in one run, below the forum's hourly limits (hub/forum/services/limits.py:
# 6 questions, 20 answers, 60 votes; 30 uploads, hub/settings.py): the driver spreads its writes
# over enough people that a 429 means a bug, not a busy bot.
QUESTIONS_PER_WRITER = 5
ANSWERS_PER_WRITER = 15
VOTES_PER_MEMBER = 50
UPLOADS_PER_UPLOADER = 25  # of which new questions: at most QUESTIONS_PER_WRITER


@dataclass
class Sample:
    page: str
    status: int  # 0: no response (connection refused or reset, timeout)
    seconds: float
    at: float  # monotonic time the request began


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def by_page(self) -> dict[str, list[Sample]]:
        pages = defaultdict(list)
        with self.lock:
            for sample in self.samples:
                pages[sample.page].append(sample)
        return dict(sorted(pages.items()))


@dataclass
class Person:
    user_id: int
    username: str
    token: str
    cookie: str  # the Cookie header of a signed-in session
    used: dict = field(default_factory=lambda: defaultdict(int))


class Pool:
    """People of one role, handed out so that none goes past the per-person budget."""

    def __init__(self, people: list[Person], *, budgets: dict[str, int]):
        self.people = people
        self.budgets = budgets
        self.cycle = itertools.cycle(people)
        self.lock = threading.Lock()

    def take(self, action: str) -> Person | None:
        with self.lock:
            for _ in range(len(self.people)):
                person = next(self.cycle)
                if person.used[action] < self.budgets[action]:
                    person.used[action] += 1
                    return person
        return None


class Client:
    """One keep-alive session that records each request."""

    def __init__(self, base_url: str, recorder: Recorder, *, person: Person | None = None):
        self.base_url = base_url
        self.recorder = recorder
        self.session = requests.Session()
        self.session.headers.update(PROXY_HEADERS)
        if person is not None:
            self.session.headers["Cookie"] = person.cookie

    def request(self, page: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = self.session.request(
                method, self.base_url + path, timeout=REQUEST_TIMEOUT_SECONDS,
                allow_redirects=False, **kwargs,
            )  # fmt: skip
        except requests.RequestException:
            self.recorder.add(Sample(page, 0, time.monotonic() - started, started))
            self.session.close()  # a fresh connection next time
            return None
        self.recorder.add(Sample(page, response.status_code, time.monotonic() - started, started))
        return response


def _bearer(person: Person) -> dict:
    return {"Authorization": f"Bearer {person.token}"}


@dataclass
class Site:
    """What the actors read and write: paths of the seeded site, and the run's people."""

    base_url: str
    question_ids: list[int]
    answer_ids: list[int]
    anonymous_pages: list[tuple[str, str]]  # (page label, path)
    members: Pool
    writers: Pool
    uploaders: Pool
    trace_bytes: callable  # seed -> bytes of a small valid trace
    recorder: Recorder = field(default_factory=Recorder)
    ledger: Ledger = field(default_factory=Ledger)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_question(self, question_id: int) -> None:
        with self.lock:
            self.question_ids.append(question_id)

    def random_question(self, rng: random.Random) -> int:
        with self.lock:
            return rng.choice(self.question_ids)

    def random_answer(self, rng: random.Random) -> int:
        with self.lock:
            return rng.choice(self.answer_ids)


def anonymous_reader(site: Site, rng: random.Random) -> None:
    client = Client(site.base_url, site.recorder)
    while not site.stop.is_set():
        if rng.random() < 0.3:
            client.request("question", "GET", f"/questions/{site.random_question(rng)}/")
        else:
            page, path = rng.choice(site.anonymous_pages)
            client.request(page, "GET", path)
        site.stop.wait(rng.uniform(0.05, 0.3))


def member(site: Site, rng: random.Random) -> None:
    """A signed-in member: reads pages (rendered for them), the API, and votes."""
    reader = site.members.people[rng.randrange(len(site.members.people))]
    client = Client(site.base_url, site.recorder, person=reader)
    api = Client(site.base_url, site.recorder)
    while not site.stop.is_set():
        roll = rng.random()
        if roll < 0.35:
            client.request("question, member", "GET", f"/questions/{site.random_question(rng)}/")
        elif roll < 0.55:
            client.request("question list, member", "GET", "/questions/")
        elif roll < 0.65:
            client.request("notifications, member", "GET", "/notifications/")
        elif roll < 0.8:
            question = site.random_question(rng)
            api.request("api question", "GET", f"/api/v1/questions/{question}/",
                        headers=_bearer(reader))  # fmt: skip
        else:
            voter = site.members.take("vote")
            if voter is not None:
                api.request("api vote", "POST", f"/api/v1/answers/{site.random_answer(rng)}/vote/",
                            json={"value": 1}, headers=_bearer(voter))  # fmt: skip
        site.stop.wait(rng.uniform(0.1, 0.5))


def writer(site: Site, rng: random.Random, *, run_tag: str) -> None:
    """Asks and answers through the API (the web forms share the per-IP post limit)."""
    api = Client(site.base_url, site.recorder)
    counter = itertools.count()
    while not site.stop.is_set():
        if rng.random() < 0.4:
            person = site.writers.take("ask")
            if person is not None:
                title = f"Load {run_tag} question {next(counter)}: loss plateaus after warm-up"
                response = api.request("api ask", "POST", "/api/v1/questions/", json={
                    "title": title,
                    "body": "The loss stops falling after the warm-up ends. What should I check?",
                    "tags": ["pytorch", "learning-rate"],
                }, headers=_bearer(person))  # fmt: skip
                if response is not None and response.status_code == 201:
                    question_id = response.json()["id"]
                    site.ledger.add("questions", question_id)
                    site.new_question(question_id)
                elif not outcome_unknown(response):
                    site.ledger.add("refused_titles", title)
        else:
            person = site.writers.take("answer")
            if person is not None:
                question = site.random_question(rng)
                response = api.request("api answer", "POST",
                                       f"/api/v1/questions/{question}/answers/", json={
                    "body": "Lower the learning rate by 10x after warm-up and clip at norm 1.",
                }, headers=_bearer(person))  # fmt: skip
                if response is not None and response.status_code == 201:
                    site.ledger.add("answers", response.json()["id"])
        site.stop.wait(rng.uniform(0.5, 2.0))


def outcome_unknown(response: requests.Response | None) -> bool:
    """No answer, or a server error other than a clear 503: the write may or may not be done."""
    return response is None or (response.status_code >= 500 and response.status_code != 503)


def upload(site: Site, person: Person, data: bytes, *, fields: dict, page: str) -> int | None:
    """POST one trace to /api/v1/traces/; the trace id if the site accepted it."""
    api = Client(site.base_url, site.recorder)
    title = fields.get("title")
    response = api.request(page, "POST", "/api/v1/traces/", data=fields,
                           files={"file": ("run.trace", data)}, headers=_bearer(person))  # fmt: skip
    if response is not None and response.status_code == 201:
        body = response.json()
        site.ledger.add("traces", body["id"])
        if body.get("question_id"):
            site.ledger.add("questions", body["question_id"])
            site.new_question(body["question_id"])
        return body["id"]
    if outcome_unknown(response):
        site.ledger.upload_unknown()
        if title:
            site.ledger.add("unknown_titles", title)
    elif title:
        site.ledger.add("refused_titles", title)
    return None


def uploader(site: Site, rng: random.Random, *, every_seconds: float, run_tag: str) -> None:
    """A trace every few seconds: mostly asked with a new question, some private."""
    counter = itertools.count()
    while not site.stop.is_set():
        started = time.monotonic()
        asking = rng.random() < 0.75
        person = site.uploaders.take("ask" if asking else "upload")
        if person is None:
            return
        n = next(counter)
        data = site.trace_bytes(seed=n)
        if asking:
            fields = {
                "title": f"Load {run_tag} trace {n}: gradients look wrong",
                "body": "Here is the trace of my training run; the loss barely moves.",
                "tags": "pytorch",
            }
            upload(site, person, data, fields=fields, page="api upload, new question")
        else:
            upload(site, person, data, fields={"private": "true"}, page="api upload, private")
        site.stop.wait(max(0.0, every_seconds - (time.monotonic() - started)))


def actors_start(site: Site, *, readers: int, members: int, upload_every: float, run_tag: str):
    rng = random.Random(20261207)
    targets = (
        [(anonymous_reader, {})] * readers
        + [(member, {})] * members
        + [(writer, {"run_tag": run_tag})]
        + [(uploader, {"every_seconds": upload_every, "run_tag": run_tag})]
    )
    threads = []
    for number, (target, kwargs) in enumerate(targets):
        thread = threading.Thread(
            target=target,
            args=(site, random.Random(rng.random() + number)),
            kwargs=kwargs,
            name=f"{target.__name__}-{number}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads
