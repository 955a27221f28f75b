"""Helpers of the ingestion tests: reference data, bodies, a topic reader."""
from __future__ import annotations

import json
import time
import uuid

from kafka import KafkaConsumer, TopicPartition

# nation > province > commune (2025 model) and nation > province > district > commune (old).
LOCALITIES = [
    ("VN", "Việt Nam", "nation", None),
    ("01", "Thành phố Hà Nội", "province", "VN"),
    ("00004", "Phường Ba Đình", "commune", "01"),
    ("00008", "Phường Ngọc Hà", "commune", "01"),
    ("79", "Thành phố Hồ Chí Minh", "province", "VN"),
    ("26734", "Phường Sài Gòn", "commune", "79"),
    ("87", "Tỉnh Đồng Tháp", "province", "VN"),
    ("866", "Thành phố Sa Đéc", "district", "87"),
    ("30001", "Phường 1 (Sa Đéc)", "commune", "866"),
]
HANOI_COMMUNE = "00004"
HCM_COMMUNE = "26734"
SA_DEC_COMMUNE = "30001"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enrolment(**overrides) -> dict:
    """A valid BHXH_TN registration in Ba Đình (Hà Nội) with a plausible contribution."""
    body = {
        "event_id": str(uuid.uuid4()),
        "kind": "registered",
        "occurred_at": "2025-08-12T09:30:00+07:00",
        "locality_code": HANOI_COMMUNE,
        "scheme": "BHXH_TN",
        # female born 1988, birth registered in Hà Nội (001)
        "participant": {"personal_id": "001188012345", "sex": "female", "birth_year": 1988},
        # 22 % × 2,000,000 − 20 % × 22 % × 1,500,000 = 440,000 − 66,000 = 374,000 a month
        "contribution": {"months": 3, "amount_vnd": 1_122_000, "chosen_income_vnd": 2_000_000,
                         "support_group": "other"},
        "campaign": "Tháng cao điểm 2025",
    }
    body.update(overrides)
    return body


def conference(**overrides) -> dict:
    body = {
        "event_id": str(uuid.uuid4()),
        "kind": "conference_held",
        "occurred_at": "2025-08-01T14:00:00+07:00",
        "locality_code": SA_DEC_COMMUNE,
        "conference": {"attendees": 437, "cost_vnd": 25_000_000, "organiser": "BHXH thành phố Sa Đéc"},
        "campaign": "Tháng cao điểm 2025",
    }
    body.update(overrides)
    return body


def read_topic(settings, expected: int, timeout_s: float = 10.0, settle_s: float = 0.0) -> list:
    """Every record on the events topic (a separate kafka-python consumer, no group).

    Reads until `expected` records arrived, then `settle_s` longer to catch any extra."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=200)
    try:
        parts = [TopicPartition(settings.events_topic, p)
                 for p in sorted(consumer.partitions_for_topic(settings.events_topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list = []
        deadline = time.monotonic() + timeout_s
        settle_until = None
        while time.monotonic() < deadline:
            for tp_records in consumer.poll(timeout_ms=200).values():
                records.extend(tp_records)
            if len(records) >= expected:
                settle_until = settle_until or time.monotonic() + settle_s
                if time.monotonic() >= settle_until:
                    break
        return records
    finally:
        consumer.close()


def value(record) -> dict:
    return json.loads(record.value)
