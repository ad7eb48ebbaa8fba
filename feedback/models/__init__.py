"""All models, imported here so that Alembic and the mapper registry see every table."""

from feedback.models.annotation import ANNOTATION_CHANNELS, LSAnnotationRecord
from feedback.models.audit import AUDIT_ACTIONS, AuditEvent
from feedback.models.dashboard import FeedbackDaily, ReasonDaily, RollupState
from feedback.models.dataset_version import DatasetVersion
from feedback.models.feedback import FEEDBACK_SOURCES, Feedback, FeedbackRevision
from feedback.models.interaction import Interaction
from feedback.models.job import JOB_STATES, JobRecord
from feedback.models.project import ApiKey, Project
from feedback.models.routing import OUTBOX_STATES, LabelStudioConnection, OutboxItem, RoutingRule
from feedback.models.selection import SELECTION_ITEM_SOURCES, SelectionItem, SelectionRun

__all__ = [
    "ANNOTATION_CHANNELS",
    "LSAnnotationRecord",
    "AUDIT_ACTIONS",
    "AuditEvent",
    "DatasetVersion",
    "FeedbackDaily",
    "ReasonDaily",
    "RollupState",
    "FEEDBACK_SOURCES",
    "JOB_STATES",
    "ApiKey",
    "Feedback",
    "FeedbackRevision",
    "Interaction",
    "JobRecord",
    "LabelStudioConnection",
    "OUTBOX_STATES",
    "OutboxItem",
    "RoutingRule",
    "SELECTION_ITEM_SOURCES",
    "SelectionItem",
    "SelectionRun",
    "Project",
]
