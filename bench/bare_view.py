"""The baseline for bench/web.py: a trivial Django view behind the full middleware stack."""

from django.http import HttpResponse

BODY = b"<!doctype html><title>bare</title><p>ok</p>"


def bare(request):
    return HttpResponse(BODY, content_type="text/html; charset=utf-8")
