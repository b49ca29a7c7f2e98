"""The ClinicalData of the ODM 1.3.2 archive, one participant at a time, as XML text: her
SubjectData with every value's history and audit record, and her casebook signatures
(diary.exports.odm says what the archive holds and why).

The clinical data are written as text rather than lxml elements: at 10,000 participants an
archive holds about 2 million ItemData, each with its AuditRecord, and building an element
tree per value took two thirds of the export's time (bench/bench_export.py). The escaping is
libxml2's, so the bytes are those lxml would write for the same elements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from diary.models import AuditAction, Participant
from diary.rules import odm
from diary.rules.local_time import utc_iso
from diary.selectors.casebook import signature_states

CHUNK = 2000  # rows a server-side cursor fetches at a time


_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;",
                       "\r": "&#13;", "\t": "&#9;"})  # fmt: skip
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _a(value: str) -> str:
    return value.translate(_ATTR)


def _t(value: str) -> str:
    return value.translate(_TEXT)


def _audit(*, user: str, site: str, at: datetime, reason: str, source: str) -> str:
    """An AuditRecord: who, where, when (UTC), why, and the source of the value."""
    return (
        f'<AuditRecord><UserRef UserOID="{_a(user)}"/>'
        f'<LocationRef LocationOID="{_a(odm.location_oid(site))}"/>'
        f"<DateTimeStamp>{utc_iso(at)}</DateTimeStamp>"
        + (f"<ReasonForChange>{_t(reason)}</ReasonForChange>" if reason else "")
        + (f"<SourceID>{_t(source)}</SourceID>" if source else "")
        + "</AuditRecord>"
    )


def _item(oid: str, value, audit: str, transaction: str = "Insert") -> str:
    if value is None:
        shown = 'IsNull="Yes"'
    else:
        text = value.isoformat() if isinstance(value, date) else str(value)
        shown = f'Value="{_a(text)}"'
    return (
        f'<ItemData ItemOID="{_a(oid)}" TransactionType="{transaction}" {shown}>{audit}</ItemData>'
    )


def _event_audit(event: dict, site: str) -> dict:
    action = event["action"]
    reason = event.get("reason") or ""
    if action == AuditAction.PERIOD_CORRECTED and not reason:
        reason = "Dates corrected by the reporter within the correction grace time"
    return {
        "user": odm.user_oid(event["actor_id"]) if event.get("actor_id") else odm.SYSTEM_USER,
        "site": site,
        "at": event["occurred_at"],
        "reason": reason,
        "source": str(action),
    }


def _period_history(
    period: dict, events: list[dict], site: str
) -> dict[str, list[tuple[object, dict]]]:
    """Each date's values in order, each with the record of the event that set it: a report or
    an import sets it (details started_on / ended_on), a correction changes it (details new).
    A date no event names (data older than its events) is its current value, reported by the
    system when the period was."""
    history: dict[str, list[tuple[object, dict]]] = {"started_on": [], "ended_on": []}
    for event in events:
        details = event.get("details") or {}
        corrected = event["action"] == AuditAction.PERIOD_CORRECTED
        given = details.get("new", {}) if corrected else details
        for name, values in history.items():
            text = given.get(name)
            if text and (not values or values[-1][0] != date.fromisoformat(text)):
                values.append((date.fromisoformat(text), _event_audit(event, site)))
    for name, values in history.items():
        if period[name] is not None and (not values or values[-1][0] != period[name]):
            values.append(
                (
                    period[name],
                    {
                        "user": odm.SYSTEM_USER,
                        "site": site,
                        "at": period["start_reported_at"],
                        "reason": "",
                        "source": str(AuditAction.PERIOD_REPORTED),
                    },
                )
            )
    return history


def _response_source(response: dict) -> str:
    if response["source"] == "import":
        return f"import:{response['metadata'].get('file_sha256', '')}"
    return response["source"]


def _response_audit(response: dict, site: str) -> str:
    return _audit(
        user=odm.user_oid(response["submitted_by_id"]),
        site=site,
        at=response["submitted_at"],
        reason=response["reason"],
        source=_response_source(response),
    )


def subject_xml(
    participant: dict,
    periods: list[dict],
    responses: list[dict],
    design,
    *,
    events: Sequence[dict] = (),
    signatures: str = "",
) -> tuple[str, int]:
    """Her SubjectData as XML text and its number of ItemData. `periods` are her reported
    periods, `responses` every response of hers, a correction after what it corrects (a
    questionnaire answered in a period never reported is a study event without the dates
    form), `events` the audit events of her periods in order, `signatures` her Signature,
    SiteRef and Annotations when she has casebook signatures (SignaturesXml)."""
    site = participant["site__code"]
    parts = [f'<SubjectData SubjectKey="{_a(participant["subject_id"])}">']
    chains: dict[tuple[int, str], list[dict]] = {}
    for response in responses:
        key = (response["assessment__period_number"], response["instrument_key"])
        chains.setdefault(key, []).append(response)
    by_period = {period["number"]: period for period in periods}
    own_events: dict[str, list[dict]] = {}
    for event in events:
        own_events.setdefault(event["object_id"], []).append(event)
    numbers = sorted({*by_period, *(number for number, _ in chains)})
    # Signature, SiteRef, Annotations: the XSD's order (SignaturesXml writes the three).
    parts.append(signatures or f'<SiteRef LocationOID="{_a(odm.location_oid(site))}"/>')
    items = 0
    for number in numbers:
        parts.append(f'<StudyEventData StudyEventOID="{odm.event_oid(number)}">')
        period = by_period.get(number)
        if period is not None:
            parts.append(f'<FormData FormOID="{odm.PERIOD_FORM}">'
                         f'<ItemGroupData ItemGroupOID="{odm.PERIOD_GROUP}">')  # fmt: skip
            dates = _period_history(period, own_events.get(str(period["pk"]), []), site)
            for oid, name in ((odm.PERIOD_START, "started_on"), (odm.PERIOD_END, "ended_on")):
                for step, (value, audit) in enumerate(dates[name]):
                    parts.append(_item(oid, value, _audit(**audit), "Update" if step else "Insert"))
                    items += 1
            parts.append("</ItemGroupData></FormData>")
        for instrument, modules in design:
            chain = chains.get((number, instrument.key))
            if not chain:
                continue
            audits = [_response_audit(response, site) for response in chain]
            parts.append(f'<FormData FormOID="{_a(odm.form_oid(instrument.key))}">')
            for page in instrument.pages(modules):
                group = odm.group_oid(instrument.key, page.key)
                parts.append(f'<ItemGroupData ItemGroupOID="{_a(group)}">')
                for key in page.item_keys:
                    oid = odm.item_oid(key)
                    value = chain[0]["answers"].get(key)
                    parts.append(_item(oid, value, audits[0]))
                    items += 1
                    for response, audit in zip(chain[1:], audits[1:], strict=True):
                        if response["answers"].get(key) != value:
                            value = response["answers"].get(key)
                            parts.append(_item(oid, value, audit, "Update"))
                            items += 1
                parts.append("</ItemGroupData>")
            parts.append("</FormData>")
        parts.append("</StudyEventData>")
    parts.append("</SubjectData>")
    return "".join(parts), items


class SignaturesXml:
    """Her casebook signatures as ODM, one participant at a time in subject order.

    ODM 1.3.2 gives a SubjectData one Signature (UserRef, LocationRef, SignatureRef,
    DateTimeStamp) and no way to say a signature no longer holds. A signature holds while the
    hash of the data it covers (her whole casebook, or her data up to its milestone) is the one
    signed (diary.selectors.casebook.signature_states: the rule the signing page applies). The
    Signature element is her latest whole-casebook signature that holds, else her latest
    milestone signature that holds; every signature of hers, valid or void, is also an
    Annotation of the SubjectData with its printed name, time, meaning, what it covers, the
    SHA-256 it is bound to and whether it holds. A void signature is never a Signature.

    One query for the signatures; each signed participant's current hash is computed from her
    casebook as the signing page computes it (a few queries per signed participant)."""

    def __init__(self, signatures) -> None:
        rows = (
            signatures.order_by("participant__subject_id", "signed_at", "id")
            .values(
                "participant__subject_id",
                "participant_id",
                "signed_by_id",
                "signed_by__username",
                "printed_name",
                "signed_at",
                "signer_time_zone",
                "meaning",
                "content_hash",
                "content_format",
                "milestone",
                "milestone_label",
            )
            .iterator(chunk_size=CHUNK)
        )
        self._of = merged(rows, "participant__subject_id")

    def xml(self, participant: dict) -> str:
        own = self._of(participant["subject_id"])
        if not own:
            return ""
        whole = Participant.objects.select_related("study", "site").get(pk=participant["pk"])
        # Her whole casebook and each milestone of her study (the signing page's
        # rule), each with the hash of the data it covers as they are now.
        states = {state.milestone: state for state in signature_states(participant=whole)}

        def holds(signature: dict) -> bool:
            state = states.get(signature["milestone"])
            return state is not None and state.current_hash == signature["content_hash"]

        site = participant["site__code"]
        holding = [signature for signature in own if holds(signature)]
        # One Signature in ODM: her whole casebook's latest that holds, else a milestone's.
        chosen = next(
            (s for s in reversed(holding) if s["milestone"] is None),
            holding[-1] if holding else None,
        )
        parts = []
        if chosen is not None:
            parts.append(
                f'<Signature><UserRef UserOID="{_a(odm.user_oid(chosen["signed_by_id"]))}"/>'
                f'<LocationRef LocationOID="{_a(odm.location_oid(site))}"/>'
                f'<SignatureRef SignatureOID="{odm.SIGNATURE_DEF}"/>'
                f"<DateTimeStamp>{utc_iso(chosen['signed_at'])}</DateTimeStamp></Signature>"
            )
        parts.append(f'<SiteRef LocationOID="{_a(odm.location_oid(site))}"/>')
        for number, signature in enumerate(own, start=1):
            state = states.get(signature["milestone"])
            later = any(other["milestone"] == signature["milestone"] for other in own[number:])
            status = (
                "valid: the data it covers are unchanged since it was signed"
                if holds(signature)
                else "VOID: her data changed after it was signed"
                + ("; signed again later" if later else "; a new signature is due")
            )
            if signature["milestone"] is None:
                covers = "her whole casebook"
            else:
                scope = state.scope if state else f"periods 1 to {signature['milestone']}"
                covers = f'{scope} (milestone "{signature["milestone_label"]}")'
            local = signature["signed_at"].astimezone(ZoneInfo(signature["signer_time_zone"]))
            comment = (
                f"Casebook signature {number} of {len(own)}: {signature['printed_name']} "
                f"(user {signature['signed_by__username']}, "
                f"{odm.user_oid(signature['signed_by_id'])}) signed at "
                f"{utc_iso(signature['signed_at'])} ({local:%Y-%m-%d %H:%M} "
                f'{signature["signer_time_zone"]}), meaning "{signature["meaning"]}", covering '
                f"{covers}, bound to SHA-256 {signature['content_hash']} of that data (format "
                f"{signature['content_format']}). {status}."
            )
            parts.append(
                f'<Annotation SeqNum="{number}"><Comment SponsorOrSite="Site">{_t(comment)}'
                "</Comment></Annotation>"
            )
        return "".join(parts)


def merged(rows: Iterator[dict], key: str) -> Callable[[str], list[dict]]:
    """Rows ordered by `key` (a participant's subject ID), handed out one participant at a
    time as the participants are written in the same order."""
    grouped = groupby(rows, key=lambda row: row[key])
    pending = [next(grouped, None)]

    def take(subject: str) -> list[dict]:
        if pending[0] is not None and pending[0][0] == subject:
            own = list(pending[0][1])
            pending[0] = next(grouped, None)
            return own
        return []

    return take
