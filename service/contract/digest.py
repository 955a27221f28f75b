"""The content digest of an event: what makes two records with one event_id the same event.

The content is the posted body plus the agent who sent it: everything in the topic record
except the API's receipt time and the envelope's schema version. It holds personal ids, so
the digest is keyed (HMAC-SHA256 with the pseudonym key, 16 bytes), like the pseudonyms.
The API (on `contract.events.record_dict`) and the worker (on the parsed topic record) compute
the same value for the same event: both are the JSON object the topic carries.
"""
from __future__ import annotations

import hmac

import orjson

NOT_CONTENT = frozenset({"received_at", "schema_version"})
DIGEST_BYTES = 16


def content_digest(record: dict, key: bytes) -> bytes:
    """HMAC-SHA256 (first 16 bytes), keyed by `key`, of the record's content as sorted JSON."""
    content = {k: v for k, v in record.items() if k not in NOT_CONTENT}
    return hmac.digest(key, orjson.dumps(content, option=orjson.OPT_SORT_KEYS), "sha256")[:DIGEST_BYTES]


def digest_key(pseudonym_key: str | bytes) -> bytes:
    """The digest's key: the pseudonym key's bytes, as `Pseudonymiser` takes them."""
    return pseudonym_key.encode() if isinstance(pseudonym_key, str) else pseudonym_key
