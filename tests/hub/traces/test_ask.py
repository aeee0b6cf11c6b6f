""" "Ask the community" from a private trace: prefill, the hidden id, attach on post."""

from django.core.files.uploadedfile import SimpleUploadedFile

import traces
from hub.forum.models import Question
from hub.forum.services import NEW_USER_QUESTIONS_PER_DAY, REP_NEW_USER, question_create
from hub.traces.diagnosis import trace_diagnose
from hub.traces.services import trace_upload
from traces.synthetic import synthetic_trace


def _diagnosed_private_trace(owner):
    upload = SimpleUploadedFile("run.trace", traces.dumps(synthetic_trace()))
    trace = trace_upload(owner=owner, uploaded_file=upload, private=True)
    trace_diagnose(trace_id=trace.pk)  # what the enqueued task does
    trace.refresh_from_db()
    return trace


def test_ask_with_a_private_trace_prefills_and_attaches_it(client, asker):
    trace = _diagnosed_private_trace(asker)
    client.force_login(asker)

    page = client.get(f"/questions/ask/?trace={trace.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Trace #{trace.pk} will be attached" in html
    assert f'name="attach_trace" value="{trace.pk}"' in html
    prefill = page.context["form"].initial
    assert prefill["body"].startswith("I recorded my training run")

    response = client.post(
        "/questions/ask/",
        {
            "title": prefill["title"],
            "body": prefill["body"],
            "tags": "",
            "attach_trace": str(trace.pk),
        },
    )
    question = Question.objects.get()
    assert response.status_code == 302
    trace.refresh_from_db()
    assert trace.question_id == question.pk


def test_another_users_trace_is_neither_prefilled_nor_attached(client, asker, make_user):
    other = make_user(reputation=50)
    trace = _diagnosed_private_trace(other)
    client.force_login(asker)

    html = client.get(f"/questions/ask/?trace={trace.pk}").content.decode()
    assert "will be attached" not in html
    assert 'name="attach_trace" value=' not in html

    response = client.post(
        "/questions/ask/",
        {
            "title": "Someone else's trace should not come along",
            "body": "x" * 40,
            "tags": "",
            "attach_trace": str(trace.pk),
        },
    )
    assert response.status_code == 302
    trace.refresh_from_db()
    assert trace.question_id is None


def test_a_nonsense_trace_id_gives_the_ordinary_form(client, asker):
    client.force_login(asker)
    response = client.get("/questions/ask/?trace=not-a-number")
    assert response.status_code == 200
    assert "will be attached" not in response.content.decode()


def _ask_up_to_the_cap(newcomer, *, leave: int = 0):
    for n in range(NEW_USER_QUESTIONS_PER_DAY - leave):
        question_create(
            author=newcomer, title=f"Earlier newcomer question {n}", body="x" * 40, tags=[]
        )


def test_the_ask_form_tells_a_new_account_how_many_questions_are_left_today(client, make_user):
    newcomer = make_user(reputation=1)
    _ask_up_to_the_cap(newcomer, leave=1)
    client.force_login(newcomer)
    html = client.get("/questions/ask/").content.decode()
    assert f"New accounts can ask {NEW_USER_QUESTIONS_PER_DAY} questions a day" in html
    assert "1 left today" in html


def test_an_established_member_sees_no_daily_allowance(client, make_user):
    client.force_login(make_user(reputation=REP_NEW_USER))
    assert "left today" not in client.get("/questions/ask/").content.decode()


def test_a_new_account_over_its_daily_cap_gets_its_draft_back_with_the_time_left(client, make_user):
    newcomer = make_user(reputation=1)
    _ask_up_to_the_cap(newcomer)
    client.force_login(newcomer)
    draft = {
        "title": "Why does my draft vanish when I am refused?",
        "body": "My loss.backward() raises one_of_the_variables_needed <b>for</b> gradients.",
        "tags": "autograd inplace",
        "trace": SimpleUploadedFile("run.trace", traces.dumps(synthetic_trace())),
    }
    response = client.post("/questions/ask/", draft)

    html = response.content.decode()
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Try again in about 24 hours" in html
    assert "0 left today" in html
    assert 'value="Why does my draft vanish when I am refused?"' in html
    assert "one_of_the_variables_needed &lt;b&gt;for&lt;/b&gt; gradients." in html
    assert 'value="autograd inplace"' in html
    assert "attach the trace file again" in html
    assert Question.objects.filter(author=newcomer).count() == NEW_USER_QUESTIONS_PER_DAY
