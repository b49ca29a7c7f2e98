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
    MenstrualPeriod,
    Response,
    ResponseSource,
)
from diary.models.draft import ResponseDraft
from diary.models.invitation import Invitation, InvitationPurpose, PasswordResetRequest
from diary.models.participant import Participant, ParticipantContact, ParticipantStatus
from diary.models.reminder import ReminderKind, ReminderLog, ReminderStatus
from diary.models.study import (
    MissingItemRule,
    Site,
    StaffMembership,
    StaffRole,
    Study,
)

__all__ = [
    "UNBLINDED_ACTIONS",
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
    "Invitation",
    "InvitationPurpose",
    "MenstrualPeriod",
    "MissingItemRule",
    "Participant",
    "ParticipantContact",
    "ParticipantStatus",
    "PasswordResetRequest",
    "ReminderKind",
    "ReminderLog",
    "ReminderStatus",
    "Response",
    "ResponseDraft",
    "ResponseSource",
    "Sequence",
    "SequenceBlock",
    "Site",
    "StaffMembership",
    "StaffRole",
    "Study",
    "Treatment",
]
