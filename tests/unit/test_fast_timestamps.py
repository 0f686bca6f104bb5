"""The operator's timestamp parser gives botocore's answers, faster for ISO 8601."""

from __future__ import annotations

import botocore.utils
import pytest

from privatelink_operator.aws import fast_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28T19:00:00Z",
        "2026-11-28T19:00:00.123Z",
        "2026-11-28T19:00:00.123456+00:00",
        "2026-11-28T21:00:00+02:00",
        "Sat, 28 Nov 2026 19:00:00 GMT",
        "1796238000",
        1796238000,
        "2026-11-28T19:00:00",
    ],
)
def test_the_same_instant_as_botocore(value: object) -> None:
    ours = fast_timestamp(value)
    theirs = botocore.utils.parse_timestamp(value)
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()
