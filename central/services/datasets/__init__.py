"""The ground-truth dataset as a whole: export of many videos, statistics, quality findings."""

from central.services.datasets.export import DATASET_REPORT, DatasetSelection, start_dataset_export
from central.services.datasets.quality import EXAMPLES, NEAR_DUPLICATE_IOU, quality_assessment
from central.services.datasets.statistics import dataset_statistics, video_statistics

__all__ = [
    "DATASET_REPORT",
    "EXAMPLES",
    "NEAR_DUPLICATE_IOU",
    "DatasetSelection",
    "dataset_statistics",
    "quality_assessment",
    "start_dataset_export",
    "video_statistics",
]
