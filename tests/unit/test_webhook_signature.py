"""Webhook signatures: any header a client sends gets a clear refusal, never a server error."""

from __future__ import annotations

import time

import pytest

from deskpilot.integrations.webhooks import SignatureError, sign, verify


@pytest.mark.parametrize("header", ["t={t},v1=\u00e9\u00e9\u00e9", "t={t},v1=\u0661\u0662", "t=\u0661\u0662\u0663,v1=ab",
                                    "t={t},v1=", "t={t}", "v1=ab", ""])
def test_a_malformed_or_non_ascii_signature_is_refused(header: str) -> None:
    now = int(time.time())
    with pytest.raises(SignatureError):
        verify("secret", b"{}", header.format(t=now), 300)


def test_the_right_signature_passes() -> None:
    now = int(time.time())
    verify("secret", b"{}", sign("secret", b"{}", now), 300)
    verify("secret", b"{}", sign("secret", b"{}", now, "evt-1"), 300, delivery="evt-1")


def test_the_delivery_id_is_part_of_the_signature() -> None:
    now = int(time.time())
    with pytest.raises(SignatureError, match="invalid signature"):
        verify("secret", b"{}", sign("secret", b"{}", now, "evt-1"), 300, delivery="evt-2")
    with pytest.raises(SignatureError, match="invalid signature"):
        verify("secret", b"{}", sign("secret", b"{}", now), 300, delivery="evt-1")
