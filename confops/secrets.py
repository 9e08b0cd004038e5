"""Showing secrets (webhook URLs, tokens, auth headers) without revealing them."""

from __future__ import annotations

MASK = "••••"


def mask_secret(secret: str, visible: int = 4) -> str:
    """Keep only the last few characters, and none of a short secret."""
    if not secret:
        return ""
    if len(secret) <= visible * 3:
        return MASK
    return f"{MASK}{secret[-visible:]}"
