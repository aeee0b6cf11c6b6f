"""API views, one module a resource (hub/api/urls.py imports them from their modules).

Each view validates input, calls one service or selector and serializes the result;
permissions, limits and business rules live in the services, shared with the web pages.
"""
