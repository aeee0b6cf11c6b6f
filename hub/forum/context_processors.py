def forum(request):
    """Header data for every page (unread notifications, presence); filled by the forum app."""
    return {}
