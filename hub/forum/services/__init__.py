"""Writes for the forum, one module per use case. Every function checks permissions and rate
limits and runs atomically.

Errors follow the project convention: ValidationError (bad input), PermissionDenied (not
allowed), hub.core.ratelimit.RateLimited (too many, too fast). Views and the API translate them.

Callers import from here (``services.question_create``); the rate limits live in
``services.limits``, which is where a test changes them.
"""

from .answers import (
    REP_ACCEPTOR,
    REP_ANSWER_ACCEPTED,
    answer_accept,
    answer_body_clean,
    answer_create,
    answer_edit,
    answer_unaccept,
)
from .comments import comment_create
from .common import (
    ANSWER_MIN_LENGTH,
    BODY_MAX_LENGTH,
    BODY_MIN_LENGTH,
    COMMENT_MAX_LENGTH,
    COMMENT_MIN_LENGTH,
    MAX_TAGS,
    RESERVED_SLUGS,
    TITLE_MIN_LENGTH,
    post_question_id,
    question_render_bump,
    tags_normalize,
)
from .limits import (
    NEW_USER_QUESTIONS_PER_DAY,
    REP_NEW_USER,
    NewAccountLimited,
    limits_bypassed,
    new_user_questions_left,
)
from .moderation import post_hide, post_unhide
from .questions import (
    question_close,
    question_content_clean,
    question_create,
    question_edit,
    question_reopen,
    question_tags_add,
    question_view_count,
)
from .votes import (
    REP_ANSWER_UPVOTE,
    REP_DOWNVOTE_RECEIVED,
    REP_QUESTION_UPVOTE,
    REP_TO_DOWNVOTE,
    vote_cast,
    votes_withdraw_all,
)

__all__ = [
    "ANSWER_MIN_LENGTH",
    "BODY_MAX_LENGTH",
    "BODY_MIN_LENGTH",
    "COMMENT_MAX_LENGTH",
    "COMMENT_MIN_LENGTH",
    "MAX_TAGS",
    "NEW_USER_QUESTIONS_PER_DAY",
    "REP_ACCEPTOR",
    "REP_ANSWER_ACCEPTED",
    "REP_ANSWER_UPVOTE",
    "REP_DOWNVOTE_RECEIVED",
    "REP_NEW_USER",
    "REP_QUESTION_UPVOTE",
    "REP_TO_DOWNVOTE",
    "RESERVED_SLUGS",
    "TITLE_MIN_LENGTH",
    "NewAccountLimited",
    "answer_accept",
    "answer_body_clean",
    "answer_create",
    "answer_edit",
    "answer_unaccept",
    "comment_create",
    "limits_bypassed",
    "new_user_questions_left",
    "post_hide",
    "post_question_id",
    "post_unhide",
    "question_close",
    "question_content_clean",
    "question_create",
    "question_edit",
    "question_render_bump",
    "question_reopen",
    "question_tags_add",
    "question_view_count",
    "tags_normalize",
    "vote_cast",
    "votes_withdraw_all",
]
