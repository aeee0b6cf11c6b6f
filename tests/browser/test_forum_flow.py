"""The forum end to end in a real browser: two people, a question, an answer, a notification.

Screenshots of every stage land in screenshots/forum-*.png for people to look at.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough passphrase 42"
TITLE = "Why do my gradients vanish in a twelve-layer sigmoid network?"
BODY = """My deep MLP stops learning after one epoch. A minimal example:

```python
model = nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.Sigmoid()) for _ in range(12)])
loss.backward()
print(model[0][0].weight.grad.norm())  # 1e-9
```

The first layer's gradient norm is about $10^{-9}$ while the last one is near $1$:

$$\\|\\nabla_{W_1} L\\| \\ll \\|\\nabla_{W_{12}} L\\|$$
"""
ANSWER = (
    "The sigmoid derivative is at most 0.25, so twelve layers shrink the gradient by about "
    "$0.25^{12}$. Use `nn.ReLU` with Kaiming initialization, or add residual connections."
)
COMMENT = "Which PyTorch version do you use? Does LayerNorm change anything?"


def sign_up(page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".nav-user")).to_contain_text(username)


def log_out(page) -> None:
    page.locator(".nav-user").get_by_role("button", name="Log out").click()
    expect(page.locator(".nav-user")).to_contain_text("Log in")


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".nav-user")).to_contain_text(username)


def test_ask_answer_comment_vote_notify_accept_and_search(page, screenshot):
    # 1. The asker signs up and asks a question with code and math.
    sign_up(page, "asker-ada")
    screenshot("forum-01-signed-up")
    page.goto("/questions/ask/")
    page.fill("input[name=title]", TITLE)
    page.fill("textarea[name=body]", BODY)
    page.fill("input[name=tags]", "autograd vanishing-gradients")
    screenshot("forum-02-ask-form")
    page.get_by_role("button", name="Post your question").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    question_url = page.url
    assert re.search(r"/questions/\d+/", question_url)
    question_id = re.search(r"/questions/(\d+)/", question_url).group(1)
    expect(page.locator("#question .prose pre code")).to_contain_text("nn.Sigmoid()")
    # KaTeX (vendored) turned the $...$ and $$...$$ into rendered math.
    expect(page.locator("#question .prose .katex").first).to_be_visible()
    assert page.locator("#question .prose .katex").count() >= 2
    screenshot("forum-03-question-asked")
    log_out(page)

    # 2. A second person answers, comments on the question and upvotes it.
    sign_up(page, "helper-bo")
    page.goto(question_url)
    page.locator("#your-answer textarea[name=body]").fill(ANSWER)
    page.locator("#your-answer").get_by_role("button", name="Post your answer").click()
    answer = page.locator(".answers .post").first
    expect(answer).to_contain_text("Kaiming initialization")
    page.locator("#question details.comment-form summary").click()
    page.locator("#question details.comment-form textarea").fill(COMMENT)
    page.locator("#question details.comment-form").get_by_role("button", name="Add comment").click()
    expect(page.locator("#question .comments")).to_contain_text("LayerNorm")
    vote_box = page.locator(f"#vote-questions-{question_id}")
    vote_box.locator("button[value='1']").click()
    expect(page.locator(f"#vote-questions-{question_id} .vote-score")).to_have_text("1")
    screenshot("forum-04-answered-commented-voted")
    log_out(page)

    # 3. The asker comes back: the header counts two unread notifications.
    log_in(page, "asker-ada")
    badge = page.locator(".notif-link .badge")
    expect(badge).to_have_text("2")
    screenshot("forum-05-header-unread")
    page.locator(".notif-link").click()
    items = page.locator(".notification.is-unread")
    expect(items).to_have_count(2)
    expect(page.locator(".notification-list")).to_contain_text("helper-bo answered")
    expect(page.locator(".notification-list")).to_contain_text("helper-bo commented")
    screenshot("forum-06-notification-list")

    # 4. Viewing the list marked both read; the answer notification lands on the answer.
    page.locator(".notification", has_text="answered").locator("a").click()
    expect(page).to_have_url(re.compile(r"#answer-\d+$"))
    expect(page.locator(".notif-link .badge")).to_have_count(0)
    page.locator(".answers .post").first.locator(".accept-button").click()
    expect(page.locator(".answers .post.accepted-answer")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header would sit mid-screenshot
    screenshot("forum-07-answer-accepted")

    # 5. Search finds the question by words from its body.
    page.fill("#nav-q", "sigmoid vanish")
    page.press("#nav-q", "Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    screenshot("forum-08-search")

    # The helper hears that their answer was accepted.
    log_out(page)
    log_in(page, "helper-bo")
    page.goto("/notifications/")
    expect(page.locator(".notification-list")).to_contain_text("accepted your answer")
    screenshot("forum-09-helper-notified")
    assert page.js_errors == []


def test_a_flag_reaches_the_moderator_queue_and_hiding_settles_it(page, screenshot):
    from hub.accounts.services import user_create
    from hub.forum.services import answer_create, question_create
    from hub.moderation.models import Flag

    asker = user_create(username="asker-cy", email="cy@example.com", password=PASSWORD)
    spammer = user_create(username="spammer-dd", email="dd@example.com", password=PASSWORD)
    user_create(username="reader-ed", email="ed@example.com", password=PASSWORD)
    moderator = user_create(username="mod-fay", email="fay@example.com", password=PASSWORD)
    moderator.is_staff = True
    moderator.save()
    question = question_create(author=asker, title=TITLE, body=BODY, tags=["autograd"])
    spam = answer_create(
        author=spammer, question=question, body="Cheap GPUs at totally-legit.example, buy now!"
    )

    log_in(page, "reader-ed")
    page.goto(question.get_absolute_url())
    page.locator(f"#answer-{spam.pk} .flag-link").click()
    expect(page.get_by_role("heading", name="Flag a post")).to_be_visible()
    expect(page.locator(".flag-excerpt")).to_contain_text("totally-legit.example")
    page.get_by_label("Spam").check()
    screenshot("forum-10-flag-page")
    page.get_by_role("button", name="Send flag").click()
    expect(page.locator(".messages")).to_contain_text("a moderator will review it")
    expect(page).to_have_url(re.compile(rf"#answer-{spam.pk}$"))
    assert Flag.objects.filter(answer=spam, state="open").count() == 1
    log_out(page)

    log_in(page, "mod-fay")
    page.goto("/moderation/")
    item = page.locator(".flag-item").first
    expect(item).to_contain_text("totally-legit.example")
    screenshot("forum-11-moderation-queue")
    item.get_by_role("button", name="Hide post").click()
    expect(page.locator(".messages")).to_contain_text("Post hidden")
    expect(page.locator(".empty-state")).to_contain_text("The queue is empty")
    spam.refresh_from_db()
    assert spam.is_hidden
    screenshot("forum-12-moderation-queue-empty")
    assert page.js_errors == []
