"""Who is this phone? Web pages ask the chat platforms that can tell them, without knowing which platform.

A channel that can name the member whose phone opened a page (WeCom's web OAuth) registers an Identity on the
runtime when it is mounted (`runtime.identities[platform]`); the sign-in scan page sends the phone to its login page and
takes back the platform's own user id.
"""
from __future__ import annotations

from typing import Protocol


class IdentityError(Exception):
    """The platform could not say who this is; str() is for the member, `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Identity(Protocol):
    platform: str  # whose accounts it names: the members' ids on this platform
    app_name: str  # the chat app as members know it, for the page's wording

    def opened_in(self, user_agent: str) -> bool:
        """The page was opened inside this platform's app, where its login works without a tap."""
        ...

    def login_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the phone; the platform sends it back to `redirect_uri` with `code` and `state`."""
        ...

    def identify(self, code: str) -> str:
        """The platform's user id for the code its login page gave back; raises IdentityError."""
        ...
