"""An account changes outside any service of ours (allauth's password change, the admin's
groups, a deletion): each bumps the member's version, so no part of a page kept for them
(their header, a session whose password has changed) outlives the change."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .member_version import member_version_bump

User = get_user_model()


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def account_changed(sender, instance, **kwargs):
    member_version_bump(user_id=instance.pk)


@receiver(m2m_changed, sender=User.groups.through)
def account_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:  # user.groups.add/remove/clear: that user
        if action in ("post_add", "post_remove", "post_clear"):
            member_version_bump(user_id=instance.pk)
        return
    # group.user_set.add/remove: the users named; group.user_set.clear(): its users before
    if action in ("post_add", "post_remove"):
        user_ids = pk_set
    elif action == "pre_clear":
        user_ids = instance.user_set.values_list("pk", flat=True)
    else:
        return
    for user_id in user_ids:
        member_version_bump(user_id=user_id)
