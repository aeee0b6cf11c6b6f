"""Search on PostgreSQL: one ranked query for a page of results, and their snippets.

The query ranks the matches on the question rows alone (the GIN index finds them, ts_rank
orders them, LIMIT keeps a page) and joins what a result row shows to that page only: the
author and their reputation, the tags, whether the Gradient Doctor diagnosed it, the body's
plain text. Built as SQL text rather than through the ORM: its three queries (ranked ids, the
rows with their headlines, the tags) cost ~17k Python calls a page to compile and load.

Snippets are cut here from the stored plain text (Question.body_text) instead of by
ts_headline, which parsed and stemmed each whole body (as long as the ranking took): they start
at the first word of the best-covered run of matches and hold MIN_WORDS to MAX_WORDS words,
as ts_headline's did, with every word that matches a query lexeme marked. Words are matched
to lexemes by their spelling (the lexeme plus a common English ending: "gradients" and
"gradient"), not by PostgreSQL's stemmer, so a rare inflection may go unmarked; what a
search finds and how it ranks is PostgreSQL's alone.
"""

import re

from django.contrib.auth import get_user_model
from django.db import connection

from hub.accounts.models import Profile

from .models import Answer, Question, Tag

# Markers around matched words in snippets: templates escape the text, then turn these into
# <mark>. They are control characters, so user text cannot forge them (forms strip them).
MARK_START = "\x02"
MARK_STOP = "\x03"
MIN_WORDS = 15
MAX_WORDS = 30
SHORT_WORD = 3  # a snippet does not end on a word this short (ts_headline's ShortWord)
MAX_MARKED = 12  # matches looked at per snippet (a body may repeat a word hundreds of times)
# Endings the English stemmer strips, leaving the lexeme as the word's beginning.
ENDINGS = frozenset(
    "s es e ed ing ings er ers ly ation ations ion ions al ally ness ment ments ity ities ive"
    " ize izes ized izing ise ises ised ising able ful ous ism ist ists est".split()
)
# A word as PostgreSQL's parser counts them: letters and digits ("zero_grad" is two words),
# dotted ones whole ("nn.Sequential", "2.30").
WORD = r"[^\W_]++(?:\.[^\W_]++)*+"  # (possessive: counting never splits a word)
WORD_RE = re.compile(WORD)
FIRST_WORDS_RE = re.compile(rf"(?:[\W_]*?{WORD}){{1,{MIN_WORDS}}}")
ENOUGH_WORDS_RE = re.compile(rf"(?:[\W_]*?{WORD}){{{MIN_WORDS}}}")
NEXT_WORD_RE = re.compile(rf"[\W_]*?{WORD}")
SHORT_LAST_RE = re.compile(rf"(?<![^\W_])[^\W_]{{1,{SHORT_WORD}}}$")
TSQUERY_TERM_RE = re.compile(r"'((?:[^']|'')*)'(:\*)?")


def _in_model_order(model, names: str) -> list[str]:
    """Field names as Model.from_db takes their values: in the model's order."""
    wanted = names.split()
    return [field.attname for field in model._meta.concrete_fields if field.attname in wanted]


_QUESTION_FIELDS = _in_model_order(
    Question,
    "id title slug excerpt score answer_count view_count accepted_answer_id is_closed"
    " is_hidden created_at last_activity_at author_id body_text",
)
_RANKED_SQL = """
SELECT {question_columns}, r.rank, {query}::text, u.username, p.id, p.reputation, p.is_bot,
    EXISTS (SELECT 1 FROM {answer} a WHERE a.question_id = q.id AND a.is_automated
        AND NOT a.is_hidden),
    (SELECT json_agg(json_build_array({tag_columns}) ORDER BY t.name)
        FROM {question_tags} qt JOIN {tag} t ON t.id = qt.tag_id WHERE qt.question_id = q.id)
FROM (
    SELECT id, ts_rank(search_vector, {query}) AS rank FROM {question}
    WHERE {visible} search_vector @@ {query}
    ORDER BY rank DESC, score DESC, id DESC LIMIT %s OFFSET %s
) AS r
JOIN {question} q ON q.id = r.id
JOIN {user} u ON u.id = q.author_id
LEFT JOIN {profile} p ON p.user_id = u.id
ORDER BY r.rank DESC, q.score DESC, q.id DESC
"""


def ranked_rows(
    *, query_sql: str, query_params: list, moderator: bool, offset: int, limit: int
) -> list:
    """Questions matching the tsquery `query_sql` (an SQL expression, with its parameters),
    best first, `limit` after the first `offset`: each with its author (and profile), tags,
    `.diagnosed`, `.rank` and `.snippet` (marked with MARK_START/MARK_STOP)."""
    sql = _RANKED_SQL.format(
        question_columns=", ".join(f"q.{name}" for name in _QUESTION_FIELDS),
        query=query_sql,
        visible="" if moderator else "NOT is_hidden AND",
        question=Question._meta.db_table,
        answer=Answer._meta.db_table,
        user=get_user_model()._meta.db_table,
        profile=Profile._meta.db_table,
        question_tags=Question.tags.through._meta.db_table,
        tag=Tag._meta.db_table,
        tag_columns=", ".join(f"t.{name}" for name in _TAG_FIELDS),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*query_params, *query_params, *query_params, limit, offset])
        rows = cursor.fetchall()
    return _questions(rows)


_TAG_FIELDS = _in_model_order(Tag, "id name slug")
_USER_FIELDS = ["id", "username"]  # (in the model's order, as the values below)
_PROFILE_FIELDS = _in_model_order(Profile, "id user_id reputation is_bot")


def _questions(rows: list) -> list:
    User = get_user_model()
    author_cache = Question._meta.get_field("author")
    profile_cache = Profile._meta.get_field("user").remote_field
    count = len(_QUESTION_FIELDS)
    results = []
    terms = None
    tags_by_id = {}  # a page's questions share a few tags: one instance each
    for row in rows:
        question = Question.from_db("default", _QUESTION_FIELDS, row[:count])
        rank, query_text, username, profile_id, reputation, is_bot, diagnosed, tags = row[count:]
        author = User.from_db("default", _USER_FIELDS, (question.author_id, username))
        profile = None
        if profile_id is not None:
            values = (profile_id, author.pk, reputation, is_bot)
            profile = Profile.from_db("default", _PROFILE_FIELDS, values)
        profile_cache.set_cached_value(author, profile)
        author_cache.set_cached_value(question, author)
        if terms is None:
            terms = tsquery_terms(query_text)
        question.rank, question.diagnosed = rank, diagnosed
        question.snippet = snippet(question.body_text, terms)
        for values in tags or ():
            if values[0] not in tags_by_id:
                tags_by_id[values[0]] = Tag.from_db("default", _TAG_FIELDS, values)
        _tags_prefetched(question, [tags_by_id[values[0]] for values in tags or ()])
        results.append(question)
    return results


def _tags_prefetched(question: Question, tags: list) -> None:
    """Leave the tags as prefetch_related("tags") does (question.tags.all() runs no query; a
    filter on it still does the right one), from the ranked query's own column: a second
    query through prefetch_related_objects cost ~250 Python calls a row."""
    queryset = question.tags.get_queryset()  # lazily filtered to this question's tags
    queryset._result_cache = tags
    queryset._prefetch_done = True
    question._prefetched_objects_cache = {"tags": queryset}


def tsquery_terms(tsquery_text: str) -> tuple[re.Pattern, dict, dict] | None:
    """A pattern finding the words that may match the lexemes of a tsquery (as text: "'vanish'
    & 'gradient':*"), the lexemes (True: a prefix), and the words' verdicts so far (a page's
    snippets share them); None when it has no lexeme."""
    terms = {}
    for lexeme, prefix in TSQUERY_TERM_RE.findall(tsquery_text or ""):
        lexeme = lexeme.replace("''", "'")
        terms[lexeme] = terms.get(lexeme, False) or bool(prefix)
    if not terms:
        return None
    stems = sorted({lexeme[:-1] if lexeme.endswith("i") else lexeme for lexeme in terms}, key=len)
    # Case-sensitive, over the lowered text, and the word's start checked apart: a lookbehind
    # or IGNORECASE makes re try every position (~6x slower over a page of bodies).
    pattern = re.compile(
        "(?:" + "|".join(re.escape(stem) for stem in reversed(stems)) + r")[^\W_]*"
    )
    return pattern, terms, {}


def _matches(word: str, terms: dict) -> str | None:
    """The lexeme `word` (lower case) matches, if any: prefix lexemes match every word they begin; others
    the word itself or it with a common ending (a final "i" may stand for "y": happi, happy)."""
    for lexeme, prefix in terms.items():
        if word.startswith(lexeme):
            if prefix or word[len(lexeme) :] in ENDINGS or len(word) == len(lexeme):
                return lexeme
        elif lexeme.endswith("i") and word.startswith(lexeme[:-1]):
            if word[len(lexeme) - 1 :] in ("y", "ies", "ied", "ier", "iest", "ily"):
                return lexeme
    return None


def snippet(text: str, terms: tuple | None) -> str:
    """MIN_WORDS to MAX_WORDS words of `text` from the first word of its best run of matches
    (the most distinct lexemes within MAX_WORDS words), on to the match that completes it,
    the matching words marked, not ending on a short word; the first MIN_WORDS words when
    nothing matches. The text between the words is kept as it is."""
    found = _found(text, terms)
    start, cover_end = _best_run(found)
    if start and not ENOUGH_WORDS_RE.match(text, start):  # near the end: words before the run
        following = len(WORD_RE.findall(text, start))
        before = [match.start() for match in WORD_RE.finditer(text, 0, start)]
        start = before[max(0, len(before) - (MIN_WORDS - following))]
    words = FIRST_WORDS_RE.match(text, start)
    if words is None:
        return text
    end = max(words.end(), cover_end)
    if len(found) == MAX_MARKED and found[-1][1] < end:  # more matches may lie in the window
        found = _found(text, terms, start, most=MAX_WORDS)
    marked_ends = {match_end for _, match_end, _, _ in found}
    for _ in range(MAX_WORDS - MIN_WORDS):  # not ending on a short word, unless it matches
        following = NEXT_WORD_RE.match(text, end)
        if following is None or end in marked_ends:
            break
        if not SHORT_LAST_RE.search(text, max(0, end - SHORT_WORD - 1), end):
            break
        end = following.end()
    begin = start if WORD_RE.search(text, 0, start) else 0
    if not WORD_RE.search(text, end):
        end = len(text)  # the last word: the text to its end
    return _marked(text, begin, end, found)


def _found(text: str, terms: tuple | None, begin: int = 0, most: int = MAX_MARKED) -> list:
    """(start, end, lexeme, word number) of the first `most` words matching a lexeme, from
    `begin` on."""
    if terms is None:
        return []
    pattern, lexemes, verdicts = terms
    lowered = text.lower()
    if len(lowered) != len(text):  # (a letter whose lower case is longer: "İ")
        return []
    found = []
    at = words_before = 0
    for match in pattern.finditer(lowered, begin):
        start, end = match.span()
        if start and lowered[start - 1].isalnum():  # inside a word ([^\W_] is isalnum)
            continue
        word = match.group()
        lexeme = verdicts.get(word, False)
        if lexeme is False:
            lexeme = verdicts[word] = _matches(word, lexemes)
        if lexeme is not None:
            if len(lexemes) > 1:  # words apart, as spaces count them (the text is normalised)
                words_before += text.count(" ", at, start)
            found.append((start, end, lexeme, words_before))
            at = start
            if len(found) == most:
                break
    return found


def _best_run(found: list) -> tuple[int, int]:
    """Where the run of matches with the most distinct lexemes within MAX_WORDS words starts
    (the first such run), and where the match that brings its last new lexeme ends."""
    best = (0, 0)
    best_count = 0
    for i, (start, _, _, first_word) in enumerate(found):
        lexemes = set()
        cover_end = 0
        for _, end, lexeme, word in found[i:]:
            if word - first_word >= MAX_WORDS:
                break
            if lexeme not in lexemes:
                lexemes.add(lexeme)
                cover_end = end
        if len(lexemes) > best_count:
            best, best_count = (start, cover_end), len(lexemes)
    return best


def _marked(text: str, begin: int, end: int, found: list) -> str:
    pieces = []
    at = begin
    for start, stop, _, _ in found:
        if start >= begin and stop <= end:
            pieces += [text[at:start], MARK_START, text[start:stop], MARK_STOP]
            at = stop
    pieces.append(text[at:end])
    return "".join(pieces)
