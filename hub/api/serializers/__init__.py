"""Explicit input serializers (what a request may send) and output serializers (what it gets),
one module a resource.

Input serializers only check shape and bounds so the schema is precise; the services decide
everything else (permissions, limits, business rules) exactly as for the web pages. The classes
are re-exported here (`from hub.api import serializers as s; s.TraceSerializer`); their names
are the schema's component names, so they do not change.
"""

from .answers import (
    AnswerEditInputSerializer,
    AnswerInputSerializer,
    AnswerSerializer,
    AnswerWithCommentsSerializer,
)
from .comments_votes import (
    CommentInputSerializer,
    CommentSerializer,
    VoteInputSerializer,
    VoteResultSerializer,
)
from .errors import (
    ErrorDetailSerializer,
    ErrorSerializer,
)
from .learning import (
    LessonAnswerInputSerializer,
    LessonAnswerResultSerializer,
    LessonChoiceSerializer,
    LessonProgressSerializer,
    LessonStepSerializer,
    LessonStepSummarySerializer,
    TermEditInputSerializer,
    TermInputSerializer,
    TermSerializer,
)
from .notifications import (
    MarkedReadSerializer,
    NotificationListQuerySerializer,
    NotificationSerializer,
)
from .queries import (
    CursorQuerySerializer,
    TextSearchQuerySerializer,
)
from .questions import (
    QuestionCreateInputSerializer,
    QuestionDetailSerializer,
    QuestionEditInputSerializer,
    QuestionListQuerySerializer,
    QuestionSummarySerializer,
)
from .tags import (
    TagSerializer,
)
from .traces import (
    DiagnosisListQuerySerializer,
    DiagnosisSerializer,
    FindingSerializer,
    PlotLinkSerializer,
    TraceSerializer,
    TraceUploadInputSerializer,
)
from .users import (
    BadgeSerializer,
    MeSerializer,
    UserProfileSerializer,
    UserSummarySerializer,
)
from .webhook_endpoints import (
    WebhookAttemptSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointEditInputSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
)

__all__ = [
    "AnswerEditInputSerializer",
    "AnswerInputSerializer",
    "AnswerSerializer",
    "AnswerWithCommentsSerializer",
    "BadgeSerializer",
    "CommentInputSerializer",
    "CommentSerializer",
    "CursorQuerySerializer",
    "DiagnosisListQuerySerializer",
    "DiagnosisSerializer",
    "ErrorDetailSerializer",
    "ErrorSerializer",
    "FindingSerializer",
    "LessonAnswerInputSerializer",
    "LessonAnswerResultSerializer",
    "LessonChoiceSerializer",
    "LessonProgressSerializer",
    "LessonStepSerializer",
    "LessonStepSummarySerializer",
    "MarkedReadSerializer",
    "MeSerializer",
    "NotificationListQuerySerializer",
    "NotificationSerializer",
    "PlotLinkSerializer",
    "QuestionCreateInputSerializer",
    "QuestionDetailSerializer",
    "QuestionEditInputSerializer",
    "QuestionListQuerySerializer",
    "QuestionSummarySerializer",
    "TagSerializer",
    "TermEditInputSerializer",
    "TermInputSerializer",
    "TermSerializer",
    "TextSearchQuerySerializer",
    "TraceSerializer",
    "TraceUploadInputSerializer",
    "UserProfileSerializer",
    "UserSummarySerializer",
    "VoteInputSerializer",
    "VoteResultSerializer",
    "WebhookAttemptSerializer",
    "WebhookDeliverySerializer",
    "WebhookEndpointCreatedSerializer",
    "WebhookEndpointEditInputSerializer",
    "WebhookEndpointInputSerializer",
    "WebhookEndpointSerializer",
]
