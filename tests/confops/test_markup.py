"""Slack mrkdwn escaping: the one helper every Slack text goes through
(confops/common/markup.py)."""

from __future__ import annotations

from confops.common.markup import slack_escape, slack_link


def test_slack_control_characters_are_escaped_as_slack_documents() -> None:
    assert (
        slack_escape("<!channel> & <http://evil|x>")
        == "&lt;!channel&gt; &amp; &lt;http://evil|x&gt;"
    )


def test_an_already_escaped_text_is_escaped_again_so_it_shows_as_typed() -> None:
    assert slack_escape("&lt;") == "&amp;lt;"


def test_a_link_escapes_its_label_and_cannot_be_closed_by_its_url() -> None:
    assert slack_link("http://x/a?b=1&c=2", "<!here>") == "<http://x/a?b=1&amp;c=2|&lt;!here&gt;>"
    assert slack_link("http://x/run|label>", "Run") == "<http://x/run%7Clabel&gt;|Run>"
