from oauth2_provider.oauth2_validators import OAuth2Validator

from .settings import CONFIG

CLAIMS = {user["username"]: user for user in CONFIG["users"]}


class ClaimsValidator(OAuth2Validator):
    """Adds the standard profile and e-mail claims, e-mail verification included."""

    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "email": "email",
        "email_verified": "email",
    }

    def get_additional_claims(self, request):
        person = CLAIMS[request.user.username]
        return {
            "preferred_username": person["username"],
            "name": person["name"],
            "email": person["email"],
            "email_verified": person["email_verified"],
        }
