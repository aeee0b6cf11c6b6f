"""The community that bench/web.py drives: users, tags, questions, answers and comments, bulk
inserted, with one "busy" question holding many answers and comments."""

import random
import time

BUSY_ANSWERS = 60  # Stack Overflow's most-answered threads run to dozens of answers
BUSY_COMMENTS_PER_ANSWER = 4
BUSY_QUESTION_COMMENTS = 12
BATCH = 5000

TAGS = [
    "pytorch", "autograd", "vanishing-gradients", "exploding-gradients", "optimizer", "adam",
    "sgd", "learning-rate", "batchnorm", "layernorm", "relu", "sigmoid", "lstm", "rnn",
    "transformer", "attention", "cnn", "resnet", "initialization", "amp", "cuda", "nan",
    "loss", "cross-entropy", "dataloader", "gradient-clipping", "weight-decay", "dropout",
    "fine-tuning", "embedding", "gan", "vae", "scheduler", "zero-grad", "backward", "hooks",
    "distributed", "ddp", "torchscript", "quantization",
]  # fmt: skip
TOPICS = [
    "gradients vanish in a deep sigmoid MLP",
    "loss becomes NaN after a few hundred steps with AMP",
    "optimizer.zero_grad placement changes my results",
    "LSTM gradients explode on long sequences",
    "ReLU units die after a large learning rate",
    "BatchNorm behaves differently in eval mode",
    "Adam converges slower than SGD on ResNet",
    "fine-tuning BERT leaves the early layers frozen",
    "gradient clipping does not stop the divergence",
    "custom autograd Function returns None gradients",
    "DataLoader workers make training nondeterministic",
    "weight decay with Adam versus AdamW",
]
QUESTION_BODY = """I am training a small model and {topic}. Here is a minimal example:

```python
import torch
from torch import nn

model = nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.Sigmoid()) for _ in range({n})])
opt = torch.optim.SGD(model.parameters(), lr={lr})
for step in range(100):
    loss = model(torch.randn(32, 64)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
```

The gradient norm of the first layer is about $10^{{-{k}}}$ while the last one is near $1$.
I expected $\\|\\nabla_W L\\|$ to stay within an order of magnitude across layers. What am I
missing? Is it the initialization, the activation, or the optimizer?
"""
ANSWER_BODY = """The sigmoid's derivative is at most $0.25$, so across {n} layers the gradient
shrinks roughly like $0.25^{n}$. Two fixes that usually work:

1. Use `nn.ReLU` (or GELU) instead of `nn.Sigmoid` and Kaiming initialization.
2. Add residual connections or normalization (`nn.LayerNorm`) between blocks.

```python
nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
```

Record a trace with `python -m traces.capture` and the diagnosis will show the per-layer norms.
"""
COMMENT_BODIES = [
    "Which PyTorch version is this? The AMP behaviour changed in 2.1.",
    "Can you post the full traceback, not only the last line?",
    "This fixed it for me, thanks! Kaiming init made the difference.",
    "Did you try a smaller learning rate, e.g. `1e-4`?",
    "Same problem here with an LSTM; clipping at 1.0 helped.",
    "Note that `zero_grad(set_to_none=True)` is the default now.",
]


def seed(*, questions: int, posts: int, rng: random.Random) -> dict:
    """Bulk-insert the community; returns the paths the load generator will drive."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from hub.accounts.models import Profile
    from hub.forum.models import EXCERPT_MAX_LENGTH, Answer, Comment, Question, Tag
    from hub.forum.services.search import search_words_add
    from hub.forum.tag_slugs import tag_slug_base
    from hub.glossary.markdown import html_excerpt, html_text, render_markdown

    User = get_user_model()
    started = time.perf_counter()
    password = make_password(None)  # unusable: nobody logs in to the bench
    users = User.objects.bulk_create(
        [User(username=f"bench{i}", email=f"bench{i}@example.com", password=password)
         for i in range(1000)],
        batch_size=BATCH,
    )  # fmt: skip
    Profile.objects.bulk_create(
        [Profile(user=u, reputation=rng.randint(1, 5000)) for u in users], batch_size=BATCH
    )
    tags = Tag.objects.bulk_create(  # bulk_create skips Tag.save(), which sets the slug
        [Tag(name=name, slug=tag_slug_base(name), description=f"About {name}.") for name in TAGS]
    )

    # Markdown is rendered at write time; a pool of rendered bodies stands in for 100k renders.
    question_pool = []
    for i, topic in enumerate(TOPICS):
        body = QUESTION_BODY.format(topic=topic, n=4 + i, lr=0.01 * (i + 1), k=3 + i % 5)
        html = render_markdown(body)
        excerpt = html_excerpt(html, max_length=EXCERPT_MAX_LENGTH)
        question_pool.append((topic, body, html, excerpt, html_text(html)))
    answer_pool = []
    for n in range(4, 16):
        body = ANSWER_BODY.format(n=n)
        answer_pool.append((body, render_markdown(body)))
    comment_pool = [(body, render_markdown(body)) for body in COMMENT_BODIES]

    with transaction.atomic():
        question_rows = []
        for i in range(questions):
            topic, body, html, excerpt, text = question_pool[i % len(question_pool)]
            title = f"Why {topic}? (case {i})"
            question_rows.append(
                Question(
                    author=rng.choice(users),
                    title=title,
                    slug=f"why-{i}",
                    body=body,
                    body_html=html,
                    excerpt=excerpt,
                    body_text=text,
                    score=rng.randint(-2, 40),
                    view_count=rng.randint(0, 5000),
                )
            )
        created = Question.objects.bulk_create(question_rows, batch_size=BATCH)
        through = Question.tags.through
        through.objects.bulk_create(
            [
                through(question_id=q.pk, tag_id=t.pk)
                for q in created
                for t in rng.sample(tags, rng.randint(1, 3))
            ],
            batch_size=BATCH,
        )
        busy = created[len(created) // 2]

        # Posts: the busy thread first, then answers and comments spread over the rest.
        busy_answers = BUSY_ANSWERS
        busy_comments = BUSY_ANSWERS * BUSY_COMMENTS_PER_ANSWER + BUSY_QUESTION_COMMENTS
        remaining = max(0, posts - busy_answers - busy_comments)
        n_answers = remaining * 45 // 100
        n_comments = remaining - n_answers

        def answer(question):
            body, html = rng.choice(answer_pool)
            return Answer(
                question=question,
                author=rng.choice(users),
                body=body,
                body_html=html,
                score=rng.randint(-1, 25),
            )

        answers = [answer(busy) for _ in range(busy_answers)]
        # About one question in five stays unanswered, as on a real site.
        answered = [q for q in created if q is not busy and rng.random() > 0.2]
        answers += [answer(rng.choice(answered)) for _ in range(n_answers)]
        answers = Answer.objects.bulk_create(answers, batch_size=BATCH)

        def comment(*, question=None, answer=None):
            body, html = rng.choice(comment_pool)
            return Comment(
                author=rng.choice(users),
                question=question,
                answer=answer,
                body=body,
                body_html=html,
            )

        comments = [comment(question=busy) for _ in range(BUSY_QUESTION_COMMENTS)]
        comments += [
            comment(answer=a)
            for a in answers[:busy_answers]
            for _ in range(BUSY_COMMENTS_PER_ANSWER)
        ]
        others = answers[busy_answers:]
        for _ in range(n_comments):
            if rng.random() < 0.4:
                comments.append(comment(question=rng.choice(created)))
            else:
                comments.append(comment(answer=rng.choice(others)))
        Comment.objects.bulk_create(comments, batch_size=BATCH)

    with connection.cursor() as cursor:
        # auto_now_add stamps every row "now": spread the history over a year instead.
        cursor.execute(
            "UPDATE forum_question SET created_at = now() - (id % 525600) * interval '1 minute',"
            " last_activity_at = now() - (id % 525600) * interval '1 minute'"
        )
        cursor.execute(
            "UPDATE forum_question q SET answer_count = c.n FROM "
            "(SELECT question_id, count(*) AS n FROM forum_answer GROUP BY question_id) c "
            "WHERE c.question_id = q.id"
        )
        # The same vector the forum's write service stores (title weight A, body weight B).
        cursor.execute(
            "UPDATE forum_question SET search_vector = "
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(body, '')), 'B')"
        )
    search_words_add()
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: statistics, and the visibility map that
        # lets counts run as index-only scans.
        cursor.execute("VACUUM ANALYZE")
    busy.refresh_from_db()
    print(
        f"seeded {len(created)} questions, {len(answers)} answers, {len(comments)} comments "
        f"({len(answers) + len(comments)} posts) in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return {
        "bare view": "/bench/bare/",
        "question list": "/questions/",
        "busy question": busy.get_absolute_url(),
        "search": "/search/?q=vanishing+gradients+sigmoid",
    }


def paths_existing() -> dict:
    """The pages to drive in a database seeded by an earlier run (--reuse-db)."""
    from django.db.models import Count

    from hub.forum.models import Question

    busy = Question.objects.annotate(n=Count("answers")).order_by("-n").first()
    if busy is None:
        raise SystemExit("the bench database is empty: run once with --keep-db first")
    return {
        "bare view": "/bench/bare/",
        "question list": "/questions/",
        "busy question": busy.get_absolute_url(),
        "search": "/search/?q=vanishing+gradients+sigmoid",
    }
