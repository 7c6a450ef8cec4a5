"""One pattern finds the links and e-mail addresses that answers, summaries and compared passages may only repeat."""

from __future__ import annotations

from deskpilot.text.links import LINK_RE, links


def test_web_links_and_email_addresses_are_found_without_their_closing_punctuation() -> None:
    text = ("See https://help.example/reset-password. Or (https://help.example/sso), write to support@acme.example; "
            "www.acme.example/status says \"https://status.example\" is down.")
    assert links(text) == ["https://help.example/reset-password", "https://help.example/sso", "support@acme.example",
                           "www.acme.example/status", "https://status.example"]


def test_text_without_a_link_has_none_and_numbers_beside_a_link_stay_outside_it() -> None:
    assert links("Reset links are valid for 24 hours.") == []
    assert LINK_RE.sub(" ", "call 555 0134 or open https://x.example/v2 within 7 days").split() == [
        "call", "555", "0134", "or", "open", "within", "7", "days"]
