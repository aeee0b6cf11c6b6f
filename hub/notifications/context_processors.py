def notifications(request):
    """unread_notifications for the header; filled by the notifications app."""
    return {}
