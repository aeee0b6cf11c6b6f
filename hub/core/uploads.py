"""Refuse an oversized upload before reading it, and stop reading one that runs past the limit.

``UploadSizeLimitHandler`` comes first in settings.FILE_UPLOAD_HANDLERS, so it sees every
multipart request before a byte of the body is parsed: it refuses on Content-Length, then counts
file bytes as they arrive (the header is only the client's word). Either way the parser raises
``UploadTooLarge``, a MultiPartParserError: Django answers 400, DRF a parse error in the API's
error shape, and a view wrapped in ``upload_refusal`` renders its form with the message.
"""

from functools import wraps

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt, csrf_protect

# Room in a request for the multipart framing and the other fields (a question's title and body).
FORM_FIELDS_ALLOWANCE = 2**20


class UploadTooLarge(MultiPartParserError):
    pass


# A full or read-only disk is usually fixed within minutes; clients may try again after this.
STORAGE_RETRY_AFTER_SECONDS = 60


class StorageUnavailable(Exception):
    """The file storage refused an upload (a full or read-only disk): the request stored
    nothing, and the views answer 503 with this message instead of a server error."""

    def __init__(self):
        super().__init__(
            "The file storage is not accepting files right now, so nothing was saved. "
            "Try again in a few minutes."
        )


def upload_too_large_message(limit: int) -> str:
    return (
        f"The trace is larger than the {limit // 2**20} MB limit. Record fewer steps with --every."
    )


class UploadSizeLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.TRACE_MAX_UPLOAD_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit + FORM_FIELDS_ALLOWANCE:
            raise UploadTooLarge(upload_too_large_message(self.limit))

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)  # every file of the request together
        if self.received > self.limit:
            raise UploadTooLarge(upload_too_large_message(self.limit))
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file


def upload_refusal(on_refused):
    """Decorate a view taking uploads: ``on_refused(request, message, *args, **kwargs)`` answers
    an upload the handler refused, with the page's own form rather than a bare 400.

    The CSRF check reads the form, which is when the handler refuses, so the check moves inside
    (Django's documented csrf_exempt + csrf_protect pattern). The refusal changes nothing."""

    def decorate(view):
        protected = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return protected(request, *args, **kwargs)
            except UploadTooLarge as exc:
                return on_refused(request, str(exc), *args, **kwargs)

        return wrapper

    return decorate
