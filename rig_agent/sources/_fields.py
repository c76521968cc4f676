"""Turn the values a decoder found into a capture's ``decoded`` dict.

Every decoder (text lines, CAN signals, byte layouts) ends here, so the detection fields mean the
same thing whatever the source: ``vru_type`` (a :class:`~protocol.VruType` value), ``bbox``
(``[x, y, w, h]`` floats, from ``bbox`` itself or from ``bbox_x``/``bbox_y``/``bbox_w``/``bbox_h``),
``confidence`` (a float in [0, 1]) and ``frame`` (an int >= 0). Other values pass through as they
are.

A detection field that is present but unusable is not dropped silently and does not lose the
record: it stays out of the detection fields, keeps its value under ``invalid_<name>``, and the
reason is added to ``decode_error``. The raw bytes stay on the capture anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from protocol import VruType

__all__ = ["BBOX_PARTS", "DECODE_ERROR", "normalise_detection"]

DECODE_ERROR = "decode_error"
"""Key of the reason a signal could not be (fully) decoded."""

BBOX_PARTS = ("bbox_x", "bbox_y", "bbox_w", "bbox_h")

_VRU_VALUES = {member.value for member in VruType}


def _vru_type(value: Any) -> str:
    # cantools gives NamedSignalValue for DBC choices; its str() is the choice name.
    text = str(getattr(value, "name", value)).strip().lower().replace(" ", "_").replace("-", "_")
    if text not in _VRU_VALUES:
        raise ValueError(f"vru_type {value!r} is not one of {', '.join(sorted(_VRU_VALUES))}")
    return text


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool):  # a decode problem reported as data, not a caller's bug
        raise ValueError(f"{what} {value!r} is not a number")  # noqa: TRY004
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not finite")
    return number


def _confidence(value: Any) -> float:
    number = _finite(value, "confidence")
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"confidence {value!r} is outside [0, 1]")
    return number


def _frame(value: Any) -> int:
    number = _finite(value, "frame")
    if number < 0 or number != int(number):
        raise ValueError(f"frame {value!r} is not a whole number >= 0")
    return int(number)


def _bbox(value: Any) -> list[float]:
    if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 4:
        raise ValueError(f"bbox {value!r} is not four numbers [x, y, w, h]")
    box = [_finite(part, "bbox value") for part in value]
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"bbox {value!r} needs a positive width and height")
    return box


_CHECKS = {"vru_type": _vru_type, "confidence": _confidence, "frame": _frame, "bbox": _bbox}


def normalise_detection(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and coerce the detection fields of ``values``; see the module docstring."""
    decoded = dict(values)
    errors: list[str] = []
    parts = [name for name in BBOX_PARTS if name in decoded]
    if parts and "bbox" not in decoded:
        if len(parts) == len(BBOX_PARTS):
            decoded["bbox"] = [decoded.pop(name) for name in BBOX_PARTS]
        else:
            missing = ", ".join(name for name in BBOX_PARTS if name not in decoded)
            errors.append(f"bbox is incomplete: {missing} missing")
    for name, check in _CHECKS.items():
        if name not in decoded:
            continue
        value = decoded.pop(name)
        if value is None or value == "":
            continue
        try:
            decoded[name] = check(value)
        except ValueError as exc:
            decoded[f"invalid_{name}"] = (
                value if isinstance(value, str | int | float) else str(value)
            )
            errors.append(str(exc))
    if errors:
        previous = decoded.get(DECODE_ERROR)
        decoded[DECODE_ERROR] = "; ".join([previous, *errors] if previous else errors)
    return decoded
