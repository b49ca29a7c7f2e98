from diary.models.allocation import (
    Allocation,
    AllocationList,
    AllocationListMethod,
    AllocationSlot,
    AllocationSource,
    Sequence,
    SequenceBlock,
    Treatment,
)
from diary.models.audit import UNBLINDED_ACTIONS, AuditAction, AuditEvent
from diary.models.chain import AuditChainCheck, AuditChainLink
from diary.models.clinical import (
    Assessment,
    AssessmentStatus,
    ClosingPeriodStart,
    MenstrualPeriod,
    Response,
    ResponseSource,
)
from diary.models.draft import ResponseDraft
from diary.models.invitation import Invitation, InvitationPurpose, PasswordResetRequest
from diary.models.late_entry import LateEntry, LateEntryReason, LateEntryStatus
from diary.models.participant import Participant, ParticipantContact, ParticipantStatus
from diary.models.reminder import ReminderKind, ReminderLog, ReminderStatus
from diary.models.signals import (
    THRESHOLD_RANGES,
    DataQuery,
    QueryStatus,
    SignalKind,
    SignalReview,
    StudySignalSettings,
)
from diary.models.study import (
    AccessGrant,
    GrantRight,
    GrantStatus,
    MissingItemRule,
    Site,
    StaffMembership,
    StaffRole,
    Study,
)

__all__ = [
    "THRESHOLD_RANGES",
    "UNBLINDED_ACTIONS",
    "AccessGrant",
    "Allocation",
    "AllocationList",
    "AllocationListMethod",
    "AllocationSlot",
    "AllocationSource",
    "Assessment",
    "AssessmentStatus",
    "AuditAction",
    "AuditChainCheck",
    "AuditChainLink",
    "AuditEvent",
    "ClosingPeriodStart",
    "DataQuery",
    "GrantRight",
    "GrantStatus",
    "Invitation",
    "InvitationPurpose",
    "LateEntry",
    "LateEntryReason",
    "LateEntryStatus",
    "MenstrualPeriod",
    "MissingItemRule",
    "Participant",
    "ParticipantContact",
    "ParticipantStatus",
    "PasswordResetRequest",
    "QueryStatus",
    "ReminderKind",
    "ReminderLog",
    "ReminderStatus",
    "Response",
    "ResponseDraft",
    "ResponseSource",
    "Sequence",
    "SequenceBlock",
    "SignalKind",
    "SignalReview",
    "Site",
    "StaffMembership",
    "StaffRole",
    "Study",
    "StudySignalSettings",
    "Treatment",
]
