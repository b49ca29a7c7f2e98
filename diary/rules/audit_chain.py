"""The tamper-evident audit chain (pure: no Django): one link per audit event and per row-history
event, each keyed with AUDIT_CHAIN_KEY (diary/rules/chain_key.py) and chained to the one before.

A link is written by a database trigger (`epro_chain_append`, CHAIN_FUNCTION below), in the
transaction of the row it chains, for every write path (the ORM, bulk writes, raw SQL, the
row-history triggers). The trigger:

- serialises the writers: a transaction-level advisory lock taken before the chain's head is
  read, held until commit, so two simultaneous writers append one after the other; and a
  fork is impossible even without it: `seq` is the head's plus one (primary key) and
  `prev_hash` is UNIQUE, so two links can never follow the same one;
  Because that lock is held to commit, and foreign keys are checked at commit (KEY SHARE on
  the rows they point at), a service that serialises on a row locks it FOR NO KEY UPDATE
  (`select_for_update(no_key=True)`, `of=` its own table): FOR UPDATE would block those
  checks, and a submission and the window job at the same moment would deadlock
  (tests/diary/services/test_lock_order.py);
- hashes the whole row as PostgreSQL writes it out (`row::text`, in UTC: the function pins
  the settings that text depends on), so `audit_verify` can recompute the digest of the row
  as it is now and compare;
- for the row history of a content-checked table (responses, scores: CONTENT_CHECKED) also
  records the digest of the tracked row's content as that event left it, so a response or
  score edited later, even by a superuser with every trigger off, no longer matches;
- computes HMAC-SHA256 under the key the session was given (it refuses to write without one,
  or with a key that is not the chain's: the genesis link holds the key check value).

The function is SECURITY DEFINER, owned by the owner role: the application role has SELECT
only on the links and can neither write nor change one directly. Installed, with its
triggers, by the owner after every migrate (diary/enforcement.py), so tables that later
migrations add are chained too.

What the chain does not prove: it detects changes, it does not prevent them, and someone
holding the key (the application's environment) could rebuild a consistent chain.
"""

from __future__ import annotations

from diary.rules.chain_key import CHECK_LABEL, IPAD_SETTING, OPAD_SETTING

CHAIN_TRIGGER = "epro_chain"
CHAIN_FUNCTION_NAME = "epro_chain_append"
GENESIS = "genesis"
DELETED = "deleted"
# The history event's own columns, left out of the tracked row's content digest.
PGH_COLUMNS = ("pgh_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context_id")
# Tracked tables whose current rows are compared with the chain, and the columns left out of
# their content digest: a score's time stamp is rewritten with no event (tracked(unrecorded=)).
CONTENT_CHECKED: dict[str, tuple[str, ...]] = {
    "diary.Response": (),
    "scoring.Score": ("scored_at",),
}
# pg_advisory_xact_lock's key for the chain: any fixed number, the same in every process.
CHAIN_LOCK = 7_310_146_201


def link_message(
    *,
    seq: int,
    prev_hash: str,
    source_table: str,
    source_id: int,
    row_digest: str,
    object_table: str,
    object_id: int | None,
    content_digest: str,
) -> bytes:
    """What a link's HMAC covers; the trigger builds the same text (CHAIN_FUNCTION)."""
    return "|".join(
        (
            str(seq),
            prev_hash,
            source_table,
            str(source_id),
            row_digest,
            object_table,
            "" if object_id is None else str(object_id),
            content_digest,
        )
    ).encode()


def row_digest_sql(alias: str) -> str:
    """SQL for the digest of a whole row, as the trigger takes it: its text form (record_out,
    three times faster than to_jsonb's, bench/bench_chain.py), read with DIGEST_SESSION."""
    return f"encode(sha256(convert_to({alias}::text, 'UTF8')), 'hex')"


def content_digest_sql(alias: str, excluded: tuple[str, ...], *, event: bool = False) -> str:
    """SQL for the content digest of a tracked row (`event`: of a history event's snapshot of
    it), leaving out the columns in `excluded`."""
    dropped = (*PGH_COLUMNS, *excluded) if event else excluded
    array = "ARRAY[" + ", ".join(f"'{c}'" for c in dropped) + "]::text[]"
    return f"encode(sha256(convert_to((to_jsonb({alias}) - {array})::text, 'UTF8')), 'hex')"


# The settings a row's text form depends on: the trigger pins them (its SET clauses), and
# whoever reads digests outside it sets them so.
_DIGEST_SETTINGS = (
    ("timezone", "UTC"),
    ("datestyle", "ISO, YMD"),
    ("intervalstyle", "postgres"),
    ("extra_float_digits", "1"),
    ("bytea_output", "hex"),
)
DIGEST_SESSION = tuple(f"SET LOCAL {name} = '{value}'" for name, value in _DIGEST_SETTINGS)
_FUNCTION_SETTINGS = " ".join(f"SET {name} = '{value}'" for name, value in _DIGEST_SETTINGS)

_LINK_TABLE = "public.diary_auditchainlink"
_PGH = ", ".join(f"'{c}'" for c in PGH_COLUMNS)

# The trigger's arguments: the row's primary-key column, then (content-checked history only)
# the tracked table and the columns its content digest leaves out.
CHAIN_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.{CHAIN_FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
{_FUNCTION_SETTINGS}
AS $$
DECLARE
    ipad bytea := decode(nullif(current_setting('{IPAD_SETTING}', true), ''), 'hex');
    opad bytea := decode(nullif(current_setting('{OPAD_SETTING}', true), ''), 'hex');
    check_value text;
    head_seq bigint;
    head_hash text;
    row_json jsonb;
    row_id bigint;
    row_digest text;
    object_table text := '';
    object_id bigint;
    content text := '';
    link_hash text;
BEGIN
    IF ipad IS NULL OR opad IS NULL THEN
        RAISE EXCEPTION 'audit chain: this connection has no AUDIT_CHAIN_KEY; % not written',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    check_value := encode(sha256(opad || sha256(ipad || '\\x{CHECK_LABEL.hex()}'::bytea)), 'hex');
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    SELECT seq, hash INTO head_seq, head_hash FROM {_LINK_TABLE} ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        INSERT INTO {_LINK_TABLE} (seq, prev_hash, hash, source_table, source_id, row_digest,
                                   object_table, object_id, content_digest)
        VALUES (0, '', check_value, '{GENESIS}', 0, '', '', NULL, '');
        head_seq := 0;
        head_hash := check_value;
    ELSIF NOT EXISTS (SELECT 1 FROM {_LINK_TABLE} WHERE seq = 0 AND hash = check_value) THEN
        RAISE EXCEPTION 'audit chain: AUDIT_CHAIN_KEY is not the key this chain was started '
            'with; % not written', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- A field named at run time without to_jsonb (which costs three times the row's digest):
    -- every chained table's key is `id` (audit events) or `pgh_id` (row history).
    IF TG_ARGV[0] = 'pgh_id' THEN
        row_id := NEW.pgh_id;
    ELSE
        row_id := NEW.id;
    END IF;
    row_digest := encode(sha256(convert_to(NEW::text, 'UTF8')), 'hex');
    IF TG_NARGS > 1 THEN
        row_json := to_jsonb(NEW);
        object_table := TG_ARGV[1];
        object_id := (row_json ->> 'pgh_obj_id')::bigint;
        IF row_json ->> 'pgh_label' = 'delete' THEN
            content := '{DELETED}';
        ELSE
            content := encode(sha256(convert_to(
                (row_json - ARRAY[{_PGH}] - TG_ARGV[2:TG_NARGS - 1])::text, 'UTF8')), 'hex');
        END IF;
    END IF;
    link_hash := encode(sha256(opad || sha256(ipad || convert_to(concat_ws('|',
        head_seq + 1, head_hash, TG_TABLE_NAME, row_id, row_digest, object_table,
        coalesce(object_id::text, ''), content), 'UTF8'))), 'hex');
    INSERT INTO {_LINK_TABLE} (seq, prev_hash, hash, source_table, source_id, row_digest,
                               object_table, object_id, content_digest)
    VALUES (head_seq + 1, head_hash, link_hash, TG_TABLE_NAME, row_id, row_digest,
            object_table, object_id, content);
    RETURN NULL;
END $$;
"""
