from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from hub.core.web import text_param
from hub.glossary.markdown import code_highlight

from . import selectors

QUERY_MAX_CHARS = 100


@require_GET
def term_index(request):
    query = " ".join(text_param(request.GET, "q").split())[:QUERY_MAX_CHARS]
    context = {"query": query}
    if query:
        context["results"] = selectors.term_search(query=query)
    else:
        context["letters"] = selectors.term_index()
    return render(request, "glossary/index.html", context)


@require_GET
def term_detail(request, slug: str):
    term = selectors.term_get(slug=slug)
    if term is None:
        # /glossary/vanishing-gradients/ → the term that has "vanishing gradients" as an alias
        canonical = selectors.term_resolve_alias(slug=slug)
        if canonical is None:
            raise Http404("No glossary term with that name.")
        return redirect(canonical, permanent=True)
    return render(
        request,
        "glossary/term_detail.html",
        {
            "term": term,
            "summary": selectors.term_summary(definition_html=term.definition_html),
            "snippet_html": code_highlight(code=term.snippet, language="python"),
            "related": selectors.term_related(term=term),
            "questions": selectors.term_questions(term=term),
        },
    )
