"""Reading loosely typed values (flags, track ids) the way other annotation tools write them."""

from __future__ import annotations

__all__ = ["parse_flag", "parse_track_id"]

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def parse_flag(value: object) -> bool | None:
    """True/False from a bool, 0/1 or a word like "true"; None when it is none of these."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def parse_track_id(value: object) -> str | None:
    """A track id from a string or an integer (CocoVID ``instance_id``); None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return None
