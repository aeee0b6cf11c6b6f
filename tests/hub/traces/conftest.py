import pytest

from hub.accounts.models import Profile
from tests.factories import user_make


@pytest.fixture
def asker(db):
    """A member past the new-account limits, who asks questions with traces."""
    user = user_make(prefix="asker")
    Profile.objects.filter(user=user).update(reputation=50)
    return user
