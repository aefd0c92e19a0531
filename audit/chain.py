"""The canonical encoding of an audit event and its hash: the part a partner re-implements.

Version 1 encoding of an event is UTF-8 JSON with keys sorted at every level, no whitespace
(separators "," and ":"), non-ASCII characters written as themselves, over exactly these
fields:

    seq, at, actor_id, actor_label, organisation_id, action, outcome, target_type, target_id,
    target_label, request_id, ip, user_agent, details, version, prev_hash

`at` is written as UTC with microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`; `ip` in the canonical
text form of Python's `ipaddress` (or null); ids are JSON integers or null. The event's `hash` is
the lowercase hex SHA-256 of those bytes, and `prev_hash` is the previous event's hash (64 zeros
for the first event). Changing anything here needs a new version number, never an edit.

Version 2 (every event appended since) splits the hash in two so that PostgreSQL can form the
link itself, inside the one statement that takes the chain lock:

    content = the version-1 rules over every field except seq, at and prev_hash:
              actor_id, actor_label, organisation_id, action, outcome, target_type, target_id,
              target_label, request_id, ip, user_agent, details, version
    content_digest = lowercase hex SHA-256 of content
    hash = lowercase hex SHA-256 of the ASCII text  prev_hash "|" seq "|" at "|" content_digest

with seq in decimal and `at` in the form above. The content digest is computed before the lock;
only seq, at and prev_hash are decided under it. The verifier dispatches on `version`, so rows
written under version 1 verify as they always did.

Version 3 (every event inserted since the sequencer) separates writing an event from linking it.
The caller's transaction inserts the event with its content digest and nothing else; the
sequencer later gives it a `position` in the chain, a `sealed_at` time and its `prev_hash` and
`hash`, in one permitted update (audit.triggers). `seq` stays the event's own number, assigned
at insert; `position` is the gap-free order of the chain (for version 1 and 2 rows the two are
equal). The encoding is chosen so that the database can recompute it set-wise (see
`content_sql`), from each column's own text form:

    content = comma-separated: "accord-audit-event/v3", seq, at, then each of
              actor_id, actor_label, organisation_id, action, outcome, target_type, target_id,
              target_label, request_id, ip, user_agent, details  as an SQL literal (PostgreSQL's
              quote_nullable: NULL for a null; otherwise the text in single quotes, every ' and
              backslash doubled, and an E before the opening quote if the text holds a backslash), then version
    digest  = lowercase hex SHA-256 of the UTF-8 content
    hash    = lowercase hex SHA-256 of the ASCII text  prev_hash "|" position "|" sealed_at "|" digest

Texts: integers in decimal; `at` and `sealed_at` as above; `ip` as the address alone (PostgreSQL
`host(ip)`, the canonical form Accord stores on SQLite); `details` as the database keeps it
(PostgreSQL's `jsonb` text; on SQLite the canonical JSON Accord stores). The digest is therefore
recomputed on the database that wrote the row (a dump restored into the same engine verifies).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 3
V3_PREFIX = "accord-audit-event/v3"

# Fields covered by the hash. Changing this list needs a new version.
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "organisation_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "target_label",
    "request_id",
    "ip",
    "user_agent",
    "details",
    "version",
    "prev_hash",
)
# The fields of a version-3 content text, in order: the hashed fields but the link.
V3_FIELDS = tuple(name for name in HASHED_FIELDS if name != "prev_hash")
# Fields covered by a version-2 content digest (everything but the chain's own seq, at, prev_hash).
CONTENT_FIELDS = tuple(name for name in HASHED_FIELDS if name not in ("seq", "at", "prev_hash"))
# One encoder, built once: json.dumps with non-default arguments builds a new encoder per call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_encode = _ENCODER.encode
_esc = encode_basestring
_sha256 = hashlib.sha256


def iso_utc(value: datetime) -> str:
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    # Naive values only ever come from the database, where Accord stores UTC.
    return value.isoformat(timespec="microseconds")[:26] + "Z"


def canonical_ip(value: Any) -> str | None:
    """The one text form of an address, whatever form the database hands back."""
    if value is None or value == "":
        return None
    return _canonical_ip(str(value))


# Parsing an IPv6 address costs ~10 µs and a trail holds few distinct addresses.
@functools.lru_cache(maxsize=8192)
def _canonical_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _parse_float(text: str) -> float | int:
    # Make every number survive a trip through PostgreSQL's jsonb (which keeps numbers as
    # `numeric`): it has no negative zero, and writes 1e+16 back as 10000000000000000.
    value = float(text)
    if value == 0:
        return 0.0
    if ("e" in text or "E" in text) and value.is_integer():
        return int(value)
    return value


# Built once: json.loads / json.dumps with any keyword argument build a new decoder / encoder on
# every call, which cost verification more than hashing did.
_decode = json.JSONDecoder(parse_float=_parse_float).decode
_normalising_decode = json.JSONDecoder(parse_constant=lambda _name: None, parse_float=_parse_float).decode
_loose_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


def normalise_details(details: Any) -> dict:
    """What a JSON column gives back for `details`: plain JSON types, no NUL characters (which
    PostgreSQL refuses), no NaN or infinity (which JSON cannot carry). The hash is computed over
    this form, so the stored row re-hashes to the same value on every database."""
    text = _loose_encode(details or {})
    text = text.replace("\\u0000", "\\ufffd")
    value = _normalising_decode(text)
    if not isinstance(value, dict):
        value = {"value": value}
    return value


def details_json(value: Any) -> str:
    """Canonical JSON of `details` as stored: a dict, or the text a raw cursor returns."""
    if isinstance(value, str):
        if value == "{}":
            return value
        value = _decode(value)
    if not value:
        return "{}"
    return _encode(value)


def _num(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _canonical(
    seq, at, actor_id, actor_label, organisation_id, action, outcome, target_type, target_id,
    target_label, request_id, ip, user_agent, details, version, prev_hash,
) -> bytes:  # fmt: skip
    # Written out by hand, keys in sorted order: the same bytes as the reference encoder (a
    # test holds them equal), about twice as fast, which is what makes verification quick.
    at_text = at if isinstance(at, str) else iso_utc(at)
    ip_text = canonical_ip(ip)
    return (
        f'{{"action":{_esc(action)},"actor_id":{_num(actor_id)},"actor_label":{_esc(actor_label)},'
        f'"at":{_esc(at_text)},"details":{details_json(details)},'
        f'"ip":{"null" if ip_text is None else _esc(ip_text)},"organisation_id":{_num(organisation_id)},'
        f'"outcome":{_esc(outcome)},"prev_hash":{_esc(prev_hash)},"request_id":{_esc(request_id)},'
        f'"seq":{int(seq)},"target_id":{_esc(target_id)},"target_label":{_esc(target_label)},'
        f'"target_type":{_esc(target_type)},"user_agent":{_esc(user_agent)},"version":{int(version)}}}'
    ).encode()


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """Version-1 canonical encoding (see the module docstring) of an event's fields."""
    return _canonical(*(fields[name] for name in HASHED_FIELDS))


def canonical_bytes_reference(fields: dict[str, Any]) -> bytes:
    """The specification, executed: what any JSON library with sorted keys produces."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    if isinstance(payload["at"], datetime):
        payload["at"] = iso_utc(payload["at"])
    payload["ip"] = canonical_ip(payload["ip"])
    if isinstance(payload["details"], str):
        payload["details"] = json.loads(payload["details"], parse_float=_parse_float)
    return _encode(payload).encode()


def _content(
    actor_id, actor_label, organisation_id, action, outcome, target_type, target_id, target_label,
    request_id, ip, user_agent, details, version,
) -> bytes:  # fmt: skip
    # Version-2 content: the version-1 object without seq, at and prev_hash, keys still sorted.
    ip_text = canonical_ip(ip)
    return (
        f'{{"action":{_esc(action)},"actor_id":{_num(actor_id)},"actor_label":{_esc(actor_label)},'
        f'"details":{details_json(details)},'
        f'"ip":{"null" if ip_text is None else _esc(ip_text)},"organisation_id":{_num(organisation_id)},'
        f'"outcome":{_esc(outcome)},"request_id":{_esc(request_id)},'
        f'"target_id":{_esc(target_id)},"target_label":{_esc(target_label)},'
        f'"target_type":{_esc(target_type)},"user_agent":{_esc(user_agent)},"version":{int(version)}}}'
    ).encode()


def content_bytes(fields: dict[str, Any]) -> bytes:
    """Version-2 content encoding (see the module docstring) of an event's fields."""
    return _content(*(fields[name] for name in CONTENT_FIELDS))


def content_bytes_reference(fields: dict[str, Any]) -> bytes:
    payload = {name: fields[name] for name in CONTENT_FIELDS}
    payload["ip"] = canonical_ip(payload["ip"])
    if isinstance(payload["details"], str):
        payload["details"] = json.loads(payload["details"], parse_float=_parse_float)
    return _encode(payload).encode()


def content_digest(fields: dict[str, Any]) -> str:
    return _sha256(content_bytes(fields)).hexdigest()


def link_hash(prev_hash: str, seq: int, at: datetime | str, digest: str) -> str:
    """Version-2 hash: what PostgreSQL computes in the append statement (see services)."""
    at_text = at if isinstance(at, str) else iso_utc(at)
    return _sha256(f"{prev_hash}|{int(seq)}|{at_text}|{digest}".encode()).hexdigest()


def v3_values(fields: dict[str, Any]) -> tuple:
    """The V3_FIELDS text forms of an event's fields as Python holds them (the forms Accord
    stores on SQLite; on PostgreSQL the database renders `details` itself, see `content_sql`)."""
    at = fields["at"]
    return tuple(
        (at if isinstance(at, str) else iso_utc(at))
        if name == "at"
        else canonical_ip(fields["ip"])
        if name == "ip"
        else details_json(fields["details"])
        if name == "details"
        else fields[name]
        for name in V3_FIELDS
    )


def compute_hash(fields: dict[str, Any]) -> str:
    """The hash of an event, under the encoding its `version` names (version 3: of a sealed
    event, with the Python text forms; see `v3_values`)."""
    if int(fields["version"]) >= 3:
        digest = digest_v3(v3_values(fields))
        return link_hash(fields["prev_hash"], fields["position"], fields["sealed_at"], digest)
    if int(fields["version"]) == 2:
        return link_hash(fields["prev_hash"], fields["seq"], fields["at"], content_digest(fields))
    return _sha256(canonical_bytes(fields)).hexdigest()


def v3_row_values(row: tuple) -> tuple:
    """V3_FIELDS of a streamed row (see audit.verify.COLUMNS)."""
    return (row[17], row[1], *row[2:11], row[20], row[12], row[21], row[14])


def row_hash(row: tuple) -> str:
    """Hash of a streamed row (audit.verify.COLUMNS: HASHED_FIELDS with the chain position in
    place of seq, the stored hash, then seq, digest, sealed_at, ip and details as text)."""
    if int(row[14]) >= 3:
        return link_hash(row[15], row[0], row[19], digest_v3(v3_row_values(row)))
    if int(row[14]) == 2:
        return link_hash(row[15], row[0], row[1], _sha256(_content(*row[2:15])).hexdigest())
    return _sha256(_canonical(*row[:16])).hexdigest()


def rows_mismatching(rows: list[tuple]) -> list[int]:
    """Indexes of the rows (audit.verify.COLUMNS, `at` already canonical text)
    whose stored hash is not the hash of their contents. The verifier's inner loop: the same
    bytes as `_canonical` / `_content`, with the per-row function calls inlined (a test holds
    them equal)."""
    esc, num, sha, cip, dj = _esc, _num, _sha256, canonical_ip, details_json
    bad = []
    for index, row in enumerate(rows):
        (seq, at, actor_id, actor_label, organisation_id, action, outcome, target_type, target_id,
         target_label, request_id, ip, user_agent, details, version, prev_hash, stored) = row[:17]  # fmt: skip
        if version >= 3:
            # The stored digest must be the digest of the content, and the hash link it in.
            digest = row[18]
            if (
                stored is None
                or digest != digest_v3(v3_row_values(row))
                or stored != link_hash(prev_hash, seq, row[19], digest)
            ):
                bad.append(index)
            continue
        ip_text = None if ip is None else cip(ip)
        if at.__class__ is not str:
            at = iso_utc(at)
        if version == 2:
            text = (
                f'{{"action":{esc(action)},"actor_id":{"null" if actor_id is None else num(actor_id)},'
                f'"actor_label":{esc(actor_label)},"details":{"{}" if details == "{}" else dj(details)},'
                f'"ip":{"null" if ip_text is None else esc(ip_text)},'
                f'"organisation_id":{"null" if organisation_id is None else num(organisation_id)},'
                f'"outcome":{esc(outcome)},"request_id":{esc(request_id)},'
                f'"target_id":{esc(target_id)},"target_label":{esc(target_label)},'
                f'"target_type":{esc(target_type)},"user_agent":{esc(user_agent)},"version":2}}'
            )
            link = f"{prev_hash}|{int(seq)}|{at}|{sha(text.encode()).hexdigest()}"
            if sha(link.encode()).hexdigest() != stored:
                bad.append(index)
            continue
        text = (
            f'{{"action":{esc(action)},"actor_id":{"null" if actor_id is None else num(actor_id)},'
            f'"actor_label":{esc(actor_label)},"at":{esc(at)},'
            f'"details":{"{}" if details == "{}" else dj(details)},'
            f'"ip":{"null" if ip_text is None else esc(ip_text)},'
            f'"organisation_id":{"null" if organisation_id is None else num(organisation_id)},'
            f'"outcome":{esc(outcome)},"prev_hash":{esc(prev_hash)},"request_id":{esc(request_id)},'
            f'"seq":{int(seq)},"target_id":{esc(target_id)},"target_label":{esc(target_label)},'
            f'"target_type":{esc(target_type)},"user_agent":{esc(user_agent)},"version":{int(version)}}}'
        )
        if sha(text.encode()).hexdigest() != stored:
            bad.append(index)
    return bad


def sql_literal(value: Any) -> str:
    """PostgreSQL's quote_nullable() of a value's text: what the database writes, set-wise."""
    if value is None:
        return "NULL"
    text = str(value)
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "E" + quoted if "\\" in text else quoted


def content_v3(values: tuple | list) -> str:
    """Version-3 content text of the V3_FIELDS values, each already in its text form (see the
    module docstring; integers may be given as integers)."""
    seq, at, *middle, version = values
    return ",".join((V3_PREFIX, str(int(seq)), at, *(sql_literal(v) for v in middle), str(int(version))))


def digest_v3(values: tuple | list) -> str:
    return _sha256(content_v3(values).encode()).hexdigest()


# The text form of a column, per database: what `content_v3` is given, written in SQL.
_AT_TEXT = {
    "postgresql": """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC, without the fraction when it is zero.
    "sqlite": "(substr(replace({col}, ' ', 'T') || '.000000', 1, 26) || 'Z')",
}
_TEXT_OF = {
    "postgresql": {"int": "{col}::text", "ip": "host({col})", "details": "{col}::text", "text": "{col}"},
    "sqlite": {"int": "CAST({col} AS TEXT)", "ip": "{col}", "details": "{col}", "text": "{col}"},
}
_V3_KIND = {
    "seq": "int",
    "actor_id": "int",
    "organisation_id": "int",
    "version": "int",
    "ip": "ip",
    "details": "details",
}


def at_text_sql(vendor: str, column: str) -> str:
    return _AT_TEXT[vendor].format(col=column)


def text_sql(vendor: str, name: str, column: str) -> str:
    """SQL for the version-3 text form of one field held in `column`."""
    if name == "at":
        return at_text_sql(vendor, column)
    return _TEXT_OF[vendor][_V3_KIND.get(name, "text")].format(col=column)


def content_sql(vendor: str, alias: str = "") -> str:
    """SQL computing `content_v3` of a row (columns prefixed with `alias.`), set-wise. PostgreSQL
    only: on SQLite the content is computed in Python (`content_v3`), which is the fallback."""
    if vendor != "postgresql":
        raise NotImplementedError("the version-3 content is computed in SQL on PostgreSQL only")
    prefix = f"{alias}." if alias else ""
    parts = [f"'{V3_PREFIX}'", f"{prefix}seq", at_text_sql(vendor, prefix + "at")]
    parts += [f"quote_nullable({text_sql(vendor, name, prefix + name)})" for name in V3_FIELDS[2:14]]
    parts.append(f"{prefix}version")
    # One concat_ws over one quoting call per field: about three times cheaper per row for the
    # database than length-prefixing every field.
    return f"concat_ws(',', {', '.join(parts)})"


def sha256_hex_sql(expression: str) -> str:
    """PostgreSQL: lowercase hex SHA-256 of the UTF-8 of a text expression. `textsend` gives the
    text's bytes as stored (a UTF8 database), cheaper per row than convert_to()."""
    return f"encode(sha256(textsend({expression})), 'hex')"
