"""Each kind of file the report shows fetches nothing before it is scrolled to or played."""

from __future__ import annotations

from wanplan.report.figure import media_html


def test_videos_and_audio_wait_to_be_played_and_images_to_be_seen() -> None:
    assert 'preload="none"' in media_html("../outputs/a.mp4", "mp4", "a", "a")
    assert 'preload="none"' in media_html("../outputs/a.mp3", "mp3", "a", "a")
    assert 'loading="lazy"' in media_html("../outputs/a.png", "png", "a", "a")


def test_labels_and_urls_are_escaped() -> None:
    html = media_html('x".png', "png", "<b>&", "<b>")
    assert 'src="x&quot;.png"' in html and 'alt="&lt;b&gt;&amp;"' in html
    assert media_html("x.txt", "txt", "a", "<b>") == '<a href="x.txt">&lt;b&gt;</a>'
