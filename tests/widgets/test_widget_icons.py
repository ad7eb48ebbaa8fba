"""The thumbs are inline SVG icons (no emoji font needed), named in words, filled when pressed, following
forced colours and reduced motion; the demo page loads without a console error (no favicon 404).
"""

from __future__ import annotations

import re

import pytest

from tests.widgets.conftest import ask, wait_for

pytestmark = [pytest.mark.browser]

# Any pictographic character (emoji) in the widget's rendered text would need an emoji font.
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")

ICONS = """w => [...w.shadowRoot.querySelectorAll('[part~=thumb]')].map(b => {
  const svg = b.querySelector('svg'), path = svg && svg.querySelector('path'), box = svg && svg.getBoundingClientRect();
  return {svgs: b.querySelectorAll('svg').length, ns: svg && svg.namespaceURI,
          hidden: svg && svg.getAttribute('aria-hidden'), style: b.querySelectorAll('[style]').length,
          text: b.textContent, width: box && box.width, height: box && box.height,
          fill: path && getComputedStyle(path).fill, stroke: path && getComputedStyle(path).stroke,
          color: getComputedStyle(b).color, pressed: b.getAttribute('aria-pressed'),
          transition: svg && getComputedStyle(svg).transitionDuration};
})"""

# Resolves when every running CSS transition in the widget has finished (on a busy machine a read right after
# the click can land mid-transition).
SETTLED = "w => Promise.all(w.shadowRoot.getAnimations().map(a => a.finished)).then(() => true)"


def test_thumbs_are_named_svg_icons_filled_when_pressed(page, live_server):
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    _, widget = ask(page, live_server, "why is the sky blue")
    widget.get_by_role("button", name="Helpful", exact=True).click()
    wait_for(lambda: widget.get_by_role("status").text_content() == "Thanks for your feedback")
    widget.evaluate(SETTLED)  # colours are read once the pressed state's .15 s transition has ended
    up, down = widget.evaluate(ICONS)
    for thumb, text in ((up, "Helpful"), (down, "Not helpful")):
        assert (thumb["svgs"], thumb["ns"], thumb["hidden"], thumb["style"]) == (
            1, "http://www.w3.org/2000/svg", "true", 0)
        assert thumb["text"] == text and not EMOJI.search(thumb["text"])
        assert thumb["width"] >= 16 and thumb["height"] >= 16
        assert thumb["stroke"] == thumb["color"]
    assert up["pressed"] == "true" and up["fill"] == up["color"] == "rgb(255, 255, 255)"
    assert down["pressed"] == "false" and down["fill"] == "none"
    assert not EMOJI.search(widget.evaluate("w => w.shadowRoot.textContent"))
    assert widget.get_by_role("button", name="Not helpful").count() == 1
    page.wait_for_timeout(300)  # let the browser's icon request finish
    assert problems == []


def test_icons_follow_forced_colours_and_reduced_motion(page, live_server):
    page.emulate_media(forced_colors="active", reduced_motion="reduce")
    _, widget = ask(page, live_server, "what is active learning")
    widget.locator("[part~=thumb-down]").click()
    up, down = widget.evaluate(ICONS)
    assert down["pressed"] == "true" and down["fill"] == down["stroke"] == down["color"]
    assert up["fill"] == "none" and up["stroke"] == up["color"]
    assert up["transition"] == down["transition"] == "0s"
    normal = widget.evaluate("w => getComputedStyle(w.shadowRoot.querySelector('[part~=thumb-down]')).backgroundColor")
    assert normal != "rgb(26, 95, 180)"  # the forced palette (Highlight) replaced the accent colour
