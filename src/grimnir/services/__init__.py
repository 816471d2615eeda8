"""Services the API, the CLI and the demo share: what a request or a command asks
of the store, in one place, so each rule is written once (routes stay thin)."""

from grimnir.services.authentication import check_login, membership_role

__all__ = ["check_login", "membership_role"]
