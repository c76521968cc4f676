"""The five VRU categories and how each format numbers them.

COCO category ids start at 1 (pycocotools treats id 0 as unmatched); YOLO class indices at 0.
Imports map categories by name, so any numbering in a file is accepted.
"""

from __future__ import annotations

import re

from protocol import VruType

__all__ = [
    "VRU_TYPES",
    "category_from_coco_id",
    "category_from_name",
    "coco_category_id",
    "track_prefix",
    "yolo_class_index",
]

VRU_TYPES: tuple[VruType, ...] = tuple(VruType)

_COCO_IDS = {vru: index + 1 for index, vru in enumerate(VRU_TYPES)}
_BY_COCO_ID = {coco_id: vru for vru, coco_id in _COCO_IDS.items()}
_YOLO_INDICES = {vru: index for index, vru in enumerate(VRU_TYPES)}
_BY_NAME = {vru.value: vru for vru in VRU_TYPES}
_SEPARATORS = re.compile(r"[\s\-]+")
_TRACK_PREFIXES = {
    VruType.PEDESTRIAN: "PED",
    VruType.CYCLIST: "CYC",
    VruType.MOTORCYCLIST: "MOT",
    VruType.WHEELCHAIR_USER: "WCH",
    VruType.SCOOTER_RIDER: "SCO",
}


def coco_category_id(vru: VruType) -> int:
    return _COCO_IDS[vru]


def category_from_coco_id(coco_id: int) -> VruType | None:
    """The VRU type of a COCO category id, or None for an id that names none."""
    return _BY_COCO_ID.get(coco_id)


def yolo_class_index(vru: VruType) -> int:
    return _YOLO_INDICES[vru]


def category_from_name(name: str) -> VruType | None:
    """The VRU type a category name means ("Wheelchair User", "scooter-rider" ...), or None."""
    return _BY_NAME.get(_SEPARATORS.sub("_", name.strip().lower()))


def track_prefix(vru: VruType) -> str:
    """Prefix of generated track ids, as in ``DET_PED_0001``."""
    return f"DET_{_TRACK_PREFIXES[vru]}_"
