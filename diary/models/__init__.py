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
from diary.models.casebook import (
    SIGNATURE_MEANING,
    CasebookSignature,
    ChangeRequestStatus,
    DataChangeRequest,
)
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
from diary.models.imports import ImportBatch, ImportFormat
from diary.models.invitation import Invitation, InvitationPurpose, PasswordResetRequest
from diary.models.late_entry import LateEntry, LateEntryReason, LateEntryStatus
from diary.models.lock import LockChangeStatus, LockLevel, StudyLockChange
from diary.models.participant import (
    Participant,
    ParticipantContact,
    ParticipantStatus,
    ReminderChannel,
)
from diary.models.push import PushSubscription
from diary.models.reminder import ReminderKind, ReminderLog, ReminderStatus
from diary.models.signals import (
    THRESHOLD_RANGES,
    DataQuery,
    QueryStatus,
    SignalKind,
    SignalReview,
    StudySignalSettings,
)
from diary.models.site_copy import SiteCopy, SiteCopyStatus, SiteCopyTrigger
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
    "SIGNATURE_MEANING",
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
    "CasebookSignature",
    "ChangeRequestStatus",
    "ClosingPeriodStart",
    "DataChangeRequest",
    "DataQuery",
    "GrantRight",
    "GrantStatus",
    "ImportBatch",
    "ImportFormat",
    "Invitation",
    "InvitationPurpose",
    "LateEntry",
    "LateEntryReason",
    "LateEntryStatus",
    "LockChangeStatus",
    "LockLevel",
    "MenstrualPeriod",
    "MissingItemRule",
    "Participant",
    "ParticipantContact",
    "ParticipantStatus",
    "PasswordResetRequest",
    "PushSubscription",
    "QueryStatus",
    "ReminderChannel",
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
    "SiteCopy",
    "SiteCopyStatus",
    "SiteCopyTrigger",
    "StaffMembership",
    "StaffRole",
    "Study",
    "StudyLockChange",
    "StudySignalSettings",
    "Treatment",
]
