"""Reads for the forum: lists, search, similar questions, the question page, profiles."""

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import (
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from hub.accounts.selectors import user_is_moderator
from hub.notifications.models import QuestionFollow

from .models import Answer, Comment, Question, Tag, Vote
from .search_rows import MARK_START, MARK_STOP, ranked_rows

User = get_user_model()

SORTS = ("newest", "active", "top", "unanswered")
SEARCH_LIMIT = 50
# Results per page on /search/: each row costs its rendering and its snippet, and most readers
# stop at the first screen.
SEARCH_PAGE_SIZE = 20
SIMILAR_MIN_TITLE = 8  # characters typed before "similar questions" are looked up
# pg_trgm word similarity above which a title counts as similar (pg_trgm's own default is 0.6
# for word_similarity; titles phrased differently need a lower bar, measured on the demo data).
SIMILAR_THRESHOLD = 0.35
SNIPPET_WORDS = 30  # the SQLite fallback's snippets
FALLBACK_STEM = 6
# Common English words of four letters or more that say nothing about a problem.
STOPWORDS = frozenset(
    "about after again also always because been before being does doing each from have having "
    "into just more most only other over same should some such than that their them then there "
    "these they this those through under until very what when where which while with would "
    "your help please getting".split()
)


def _visible(queryset: QuerySet, *, viewer=None) -> QuerySet:
    if viewer is not None and user_is_moderator(user=viewer):
        return queryset
    return queryset.filter(is_hidden=False)


# Unanswered: no visible answer by a person (answer_count) and nothing accepted, so a question
# the Gradient Doctor alone diagnosed still reaches the people who could help.
UNANSWERED = Q(answer_count=0, accepted_answer__isnull=True)


def _list_base(*, viewer=None) -> QuerySet:
    return (
        _visible(Question.objects.all(), viewer=viewer)
        .select_related("author__profile")
        .prefetch_related("tags")
        .defer("body", "body_html", "search_vector")
        .annotate(diagnosed=_diagnosed())
    )


def _diagnosed() -> Exists:
    """Whether the Gradient Doctor posted a visible diagnosis (lists show it apart from answers)."""
    return Exists(
        Answer.objects.filter(question=OuterRef("pk"), is_automated=True, is_hidden=False)
    )


def question_list(*, sort: str = "newest", tag: str | None = None, viewer=None) -> QuerySet:
    """Questions for the list pages; unknown sorts fall back to newest."""
    queryset = _list_base(viewer=viewer)
    if tag:
        queryset = queryset.filter(tags__name=tag)
    if sort == "active":
        return queryset.order_by("-last_activity_at", "-pk")
    if sort == "top":
        return queryset.order_by("-score", "-created_at", "-pk")
    if sort == "unanswered":
        return queryset.filter(UNANSWERED).order_by("-created_at", "-pk")
    return queryset.order_by("-created_at", "-pk")


def question_detail(*, question_id: int, viewer=None) -> Question:
    """One question with its author and tags; Question.DoesNotExist when missing or hidden."""
    # Closing details load on access (closed questions are few); the accepted answer is an id.
    question = (
        Question.objects.select_related("author__profile")
        .prefetch_related("tags")
        .defer("search_vector")
        .get(pk=question_id)
    )
    if question.is_hidden and not _sees_hidden(viewer=viewer, author_id=question.author_id):
        raise Question.DoesNotExist("hidden")
    return question


def question_of_layer(*, question_id: int, viewer) -> Question:
    """The columns the member layer needs of a question the viewer sees (its forms and
    controls, not its content), with the member's `.viewer_vote` (None or ±1) and
    `.viewer_follows` read in the same query; Question.DoesNotExist when missing or hidden
    from them."""
    vote = Vote.objects.filter(user=viewer, question=OuterRef("pk")).values("value")[:1]
    question = (
        Question.objects.only(
            "id", "author_id", "slug", "score", "accepted_answer_id", "is_closed", "is_hidden"
        )
        .annotate(
            viewer_vote=Subquery(vote),
            viewer_follows=Exists(
                QuestionFollow.objects.filter(user=viewer, question=OuterRef("pk"))
            ),
        )
        .get(pk=question_id)
    )
    if question.is_hidden and not _sees_hidden(viewer=viewer, author_id=question.author_id):
        raise Question.DoesNotExist("hidden")
    return question


def _sees_hidden(*, viewer, author_id: int) -> bool:
    """Hidden posts stay visible to their authors and to moderators."""
    return viewer is not None and (viewer.pk == author_id or user_is_moderator(user=viewer))


def answer_detail(*, answer_id: int, viewer=None) -> Answer:
    """One answer with its question, if the viewer sees both on the question page;
    Answer.DoesNotExist when missing, hidden from them, or on a question hidden from them."""
    answer = Answer.objects.get(pk=answer_id)
    if answer.is_hidden and not _sees_hidden(viewer=viewer, author_id=answer.author_id):
        raise Answer.DoesNotExist("hidden")
    try:
        answer.question = question_detail(question_id=answer.question_id, viewer=viewer)
    except Question.DoesNotExist:
        raise Answer.DoesNotExist("hidden question") from None
    return answer


@dataclass
class QuestionPage:
    question: Question
    answers: list[Answer]
    question_comments: list[Comment]
    votes: dict[str, int] = field(default_factory=dict)  # "q<id>" / "a<id>" → the viewer's vote


def _answer_order(question: Question) -> Case:
    """Accepted first (0), then the rest (1)."""
    return Case(
        When(pk=question.accepted_answer_id or 0, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def question_page(*, question: Question, viewer=None) -> QuestionPage:
    """Answers (accepted first, then by score), comments and the viewer's votes: 4 queries."""
    moderator = viewer is not None and user_is_moderator(user=viewer)
    comments = Comment.objects.select_related("author__profile")
    if not moderator:
        comments = comments.filter(is_hidden=False)
    answers = Answer.objects.filter(question=question)
    if not moderator:
        answers = answers.filter(Q(is_hidden=False) | Q(author_id=getattr(viewer, "pk", None)))
    answers = list(
        answers.select_related("author__profile")
        .prefetch_related(Prefetch("comments", queryset=comments.order_by("created_at")))
        .annotate(accepted_first=_answer_order(question))
        .order_by("accepted_first", "-score", "created_at")
    )
    question_comments = list(comments.filter(question=question).order_by("created_at"))
    votes = question_votes(question=question, viewer=viewer, answer_ids=[a.pk for a in answers])
    return QuestionPage(
        question=question, answers=answers, question_comments=question_comments, votes=votes
    )


def question_votes(
    *, question: Question, viewer, answer_ids: list[int] | None = None
) -> dict[str, int]:
    """The viewer's votes on the question and these answers (None: all of its answers):
    "q<id>" / "a<id>" → ±1."""
    votes: dict[str, int] = {}
    if viewer is None or not viewer.is_authenticated:
        return votes
    # Two indexed branches joined on the question (no list of ids to bind: a busy page has
    # dozens), the answers' kept to those asked for.
    mine = Vote.objects.filter(user=viewer).values_list("question_id", "answer_id", "value")
    rows = mine.filter(question=question).union(mine.filter(answer__question=question), all=True)
    wanted = set(answer_ids or ())
    for question_id, answer_id, value in rows:
        if question_id:
            votes[f"q{question_id}"] = value
        elif answer_ids is None or answer_id in wanted:
            votes[f"a{answer_id}"] = value
    return votes


def question_answer_rows(*, question: Question) -> list[Answer]:
    """The visible answers, in page order, with only the columns their controls need (the
    member layer's part every member shares)."""
    return _answer_rows(question, Answer.objects.filter(question=question, is_hidden=False))


def question_answers_of_member(*, question: Question, viewer) -> list[Answer]:
    """The member's own answers and the visible ones they voted on, in page order, each with
    their `.viewer_vote` (None or ±1), in one query (the member layer's own part)."""
    vote = Vote.objects.filter(user=viewer, answer=OuterRef("pk")).values("value")[:1]
    answers = (
        Answer.objects.filter(question=question)
        .annotate(viewer_vote=Subquery(vote))
        .filter(Q(author_id=viewer.pk) | Q(is_hidden=False, viewer_vote__isnull=False))
    )
    return _answer_rows(question, answers)


def _answer_rows(question: Question, answers: QuerySet) -> list[Answer]:
    return list(
        answers.annotate(accepted_first=_answer_order(question))
        .order_by("accepted_first", "-score", "created_at")
        .only("pk", "author_id", "score", "is_hidden", "question_id")
    )


# --- search ----------------------------------------------------------------------------------


def _uses_postgres() -> bool:
    return connection.vendor == "postgresql" and getattr(settings, "USES_POSTGRES", True)


def question_search(
    *,
    query: str,
    use_postgres: bool | None = None,
    viewer=None,
    offset: int = 0,
    limit: int = SEARCH_LIMIT,
) -> list:
    """Questions matching `query`, best first (`limit` of them after the first `offset`), each
    with `.rank` and a marked-up `.snippet` of its body's plain text.

    PostgreSQL: websearch syntax over the stored search vector (GIN), ranked by ts_rank, in
    one query (search_rows); when that finds nothing, each word is widened to its prefix and
    the nearest words of the vectors by trigram similarity ("vanishng" → "vanish"). Snippets
    are cut from the plain text in Python (search_rows.snippet). Elsewhere (SQLite, the embedded run): substring match on title and body,
    title matches first. `use_postgres` picks the path explicitly (tests run both).
    """
    query = (query or "").strip()
    if not query:
        return []
    if use_postgres is None:
        use_postgres = _uses_postgres()
    if not use_postgres:
        return _search_fallback(query=query, viewer=viewer, offset=offset, limit=limit)
    results = _search_postgres(query=query, viewer=viewer, offset=offset, limit=limit)
    # Quotes, exclusions and "or" ask for exactly that: no widening.
    if not results and not WEBSEARCH_SYNTAX_RE.search(query):
        fuzzy = _fuzzy_search_query(query)
        if fuzzy is not None:
            results = _search_postgres(query=fuzzy, viewer=viewer, offset=offset, limit=limit)
    return results


def _search_postgres(*, query, viewer, offset: int, limit: int) -> list:
    """One page of ranked matches for `query`: a websearch string, or (SQL, parameters) of a
    tsquery (search_rows.ranked_rows)."""
    if isinstance(query, str):
        query = ("websearch_to_tsquery('english'::regconfig, %s)", [query])
    moderator = viewer is not None and user_is_moderator(user=viewer)
    query_sql, query_params = query
    return ranked_rows(
        query_sql=query_sql,
        query_params=query_params,
        moderator=moderator,
        offset=offset,
        limit=limit,
    )


# Trigram similarity a vector word needs to stand in for a query word: pg_trgm's default,
# which a swap of two letters still passes ("gradinets" ~ "gradient": 0.36). It only applies
# when the words as typed found nothing.
FUZZY_SIMILARITY = 0.3
FUZZY_ALTERNATIVES = 3  # nearest words per query word
FUZZY_WORD_RE = re.compile(r"[^\W_]{2,}")
WEBSEARCH_SYNTAX_RE = re.compile(r'"|(?:^|\s)-|\bor\b', re.IGNORECASE)


def _tsquery_word(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _fuzzy_search_query(query: str) -> tuple[str, list] | None:
    """Every word of `query` (up to 8), each as: itself as a prefix, or one of its nearest
    words in SearchWord; as a tsquery's SQL and parameters. None when the query has no word."""
    terms = list(dict.fromkeys(FUZZY_WORD_RE.findall(query.lower())))[:8]
    if not terms:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.term, w.word FROM unnest(%s::text[]) AS t(term) CROSS JOIN LATERAL"
            " (SELECT word FROM forum_searchword WHERE word %% t.term"
            "  AND similarity(word, t.term) >= %s ORDER BY word <-> t.term LIMIT %s) AS w",
            [terms, FUZZY_SIMILARITY, FUZZY_ALTERNATIVES],
        )
        near: dict[str, list[str]] = {}
        for term, word in cursor.fetchall():
            near.setdefault(term, []).append(word)
    combined, params = None, []
    for term in terms:
        either = "to_tsquery('english'::regconfig, %s)"
        params.append(_tsquery_word(term) + ":*")
        for word in near.get(term, []):
            either = f"({either} || to_tsquery('simple'::regconfig, %s))"
            params.append(_tsquery_word(word))
        combined = either if combined is None else f"({combined} && {either})"
    return combined, params


def _search_terms(query: str) -> list[str]:
    terms = [t for t in re.findall(r"[\w.+#-]+", query.lower()) if len(t) > 1]
    return terms[:8] or [query.lower()]


def _snippet(text: str, terms: list[str]) -> str:
    """About SNIPPET_WORDS words around the first match, matches wrapped in the markers."""
    words = text.split()
    lowered = [w.lower() for w in words]
    start = next((i for i, w in enumerate(lowered) if any(t in w for t in terms)), 0)
    start = max(0, start - 8)
    chosen = words[start : start + SNIPPET_WORDS]
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    marked = " ".join(pattern.sub(lambda m: MARK_START + m.group(0) + MARK_STOP, w) for w in chosen)
    return ("… " if start else "") + marked + (" …" if start + SNIPPET_WORDS < len(words) else "")


def _search_fallback(*, query: str, viewer, offset: int, limit: int) -> list:
    """Any term in title or body; ranked by all-terms-in-title, then title hits, then body."""
    terms = _search_terms(query)
    in_title = Q()
    in_any = Q()
    for term in terms:
        in_title &= Q(title__icontains=term)
        in_any |= Q(title__icontains=term) | Q(body__icontains=term)
    hits = [
        Case(When(title__icontains=t, then=Value(3)), default=Value(0))
        + Case(When(body__icontains=t, then=Value(1)), default=Value(0))
        for t in terms
    ]
    queryset = (
        _list_base(viewer=viewer)
        .defer(None)
        .defer("body_html", "search_vector")
        .filter(in_any)
        .annotate(rank=Case(When(in_title, then=Value(100)), default=Value(0)) + sum(hits))
        .order_by("-rank", "-score", "-pk")
    )
    results = list(queryset[offset : offset + limit])
    for question in results:
        question.snippet = _snippet(question.body_text, terms)
    return results


def question_similar(*, title: str, limit: int = 5, exclude_id: int | None = None) -> list:
    """Questions whose titles resemble `title` (pg_trgm on PostgreSQL, words elsewhere)."""
    title = (title or "").strip()
    if len(title) < SIMILAR_MIN_TITLE:
        return []
    queryset = Question.objects.filter(is_hidden=False).only(
        "id", "title", "slug", "score", "answer_count", "accepted_answer_id", "created_at"
    )
    if exclude_id:
        queryset = queryset.exclude(pk=exclude_id)
    if _uses_postgres():
        queryset = (
            queryset.annotate(similarity=TrigramWordSimilarity(title, "title"))
            .filter(similarity__gte=SIMILAR_THRESHOLD)
            .order_by("-similarity", "-score")
        )
        return list(queryset[:limit])
    # Crude stemming for the fallback: the first letters of a long word ("decreasing" and
    # "decreases" share "decrea").
    words = [
        w[:FALLBACK_STEM]
        for w in re.findall(r"\w+", title.lower())
        if len(w) > 3 and w not in STOPWORDS
    ][:8]
    if not words:
        return []
    hits = sum(
        (Case(When(title__icontains=w, then=Value(1)), default=Value(0)) for w in words),
        Value(0),
    )
    queryset = queryset.annotate(similarity=hits).filter(similarity__gte=min(2, len(words)))
    return list(queryset.order_by("-similarity", "-score")[:limit])


# --- tags ------------------------------------------------------------------------------------


def _tags_counted() -> QuerySet:
    return Tag.objects.annotate(
        question_count=Count("questions", filter=Q(questions__is_hidden=False))
    )


def tag_list(*, query: str = "", sort: str = "popular") -> QuerySet:
    queryset = _tags_counted()
    if query:
        queryset = queryset.filter(name__icontains=query.strip().lower())
    if sort == "name":
        return queryset.order_by("name")
    return queryset.order_by("-question_count", "name")


def tag_autocomplete(*, prefix: str, limit: int = 8) -> list[dict]:
    prefix = (prefix or "").strip().lower()
    if not prefix:
        return []
    rows = (
        tag_list(query="")
        .filter(name__startswith=prefix)
        .values("name", "description", "question_count")[:limit]
    )
    return list(rows)


def tag_get(*, name: str | None = None, slug: str | None = None) -> Tag:
    """By display name (the API) or by URL slug (the web); Tag.DoesNotExist if none."""
    if slug is not None:
        return _tags_counted().get(slug=slug)
    return _tags_counted().get(name=name)


# --- users -----------------------------------------------------------------------------------

# Badge thresholds; names and levels follow Stack Overflow's "Nice Answer" etc.
BADGE_NICE_ANSWER_SCORE = 10
BADGE_REPUTATION_LEVELS = (100, 1000)


@dataclass
class Badge:
    name: str
    description: str
    level: str  # bronze | silver | gold


@dataclass
class UserProfilePage:
    user: object
    reputation: int
    question_count: int
    answer_count: int
    accepted_count: int
    badges: list[Badge]
    questions: list[Question]
    answers: list[Answer]


def user_get_by_username(*, username: str):
    return User.objects.select_related("profile").get(username=username, is_active=True)


def user_badges(*, user, reputation: int, stats: dict) -> list[Badge]:
    badges: list[Badge] = []
    if stats["questions"]:
        badges.append(Badge("Student", "Asked a first question", "bronze"))
    if stats["answers"]:
        badges.append(Badge("Teacher", "Answered a first question", "bronze"))
    if stats["accepted"]:
        badges.append(Badge("Scholar", "Had a first answer accepted", "bronze"))
    if stats["nice_answers"]:
        badges.append(
            Badge(
                "Nice answer",
                f"An answer scored {BADGE_NICE_ANSWER_SCORE} or more",
                "bronze",
            )
        )
    low, high = BADGE_REPUTATION_LEVELS
    if reputation >= low:
        badges.append(Badge("Contributor", f"Reached {low} reputation", "silver"))
    if reputation >= high:
        badges.append(Badge("Trusted", f"Reached {high} reputation", "gold"))
    return badges


def user_profile_page(*, user, viewer=None, limit: int = 10) -> UserProfilePage:
    from hub.accounts.services import profile_get

    reputation = profile_get(user=user).reputation
    questions = _visible(Question.objects.filter(author=user), viewer=viewer)
    answers = Answer.objects.filter(author=user, is_hidden=False, question__is_hidden=False)
    stats = answers.aggregate(
        answers=Count("pk"),
        nice_answers=Count("pk", filter=Q(score__gte=BADGE_NICE_ANSWER_SCORE)),
    )
    stats["questions"] = questions.count()
    stats["accepted"] = Question.objects.filter(accepted_answer__author=user).count()
    return UserProfilePage(
        user=user,
        reputation=reputation,
        question_count=stats["questions"],
        answer_count=stats["answers"],
        accepted_count=stats["accepted"],
        badges=user_badges(user=user, reputation=reputation, stats=stats),
        questions=list(
            questions.prefetch_related("tags").defer("body", "body_html", "search_vector")
            .order_by("-score", "-created_at")[:limit]
        ),
        answers=list(
            answers.select_related("question")
            .defer("body", "body_html", "question__body", "question__body_html",
                   "question__search_vector")
            .order_by("-score", "-created_at")[:limit]
        ),
    )  # fmt: skip
