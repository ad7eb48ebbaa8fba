"""Click and keyboard-only flows on the demo page store the right feedback (Chromium through Playwright)."""

from __future__ import annotations

import pytest

from tests.widgets.conftest import ask, events, outbox, wait_for

pytestmark = [pytest.mark.browser]


def test_click_flow_stores_vote_reasons_comment_and_rating(page, live_server, stored):
    iid, widget = ask(page, live_server, "what is active learning")
    widget.locator("[part~=thumb-up]").click()
    wait_for(lambda: stored(iid).feedback)
    widget.get_by_role("button", name="Thorough explanation").click()
    widget.get_by_label("Comment (optional)").fill("clear and short")
    widget.get_by_role("group", name="Rating").get_by_role("button", name="4").click()
    widget.get_by_role("button", name="Send details").click()
    data = wait_for(lambda: (s := stored(iid)) and len(s.feedback) == 2 and s.feedback[0].revision == 2 and s)
    helpful = next(f for f in data.feedback if f.key == "helpfulness")
    rating = next(f for f in data.feedback if f.key == "rating")
    assert (helpful.score, helpful.reasons, helpful.comment, helpful.source) == (
        1.0, ["thorough_explanation"], "clear and short", "end_user")
    assert helpful.end_user_id and helpful.end_user_id.startswith("demo-")
    assert (rating.score, rating.revision) == (4.0, 1)
    assert widget.get_by_role("status").text_content() == "Thanks for your feedback"
    assert widget.locator("[part~=thumb-up]").get_attribute("aria-pressed") == "true"


def _deep_focus(page):
    return page.evaluate("""() => {
      let el = document.activeElement;
      while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
      return {tag: el.tagName, text: (el.textContent || '').trim(), part: el.getAttribute('part') || '',
              expanded: el.getAttribute('aria-expanded')};
    }""")


def _tab_to(page, predicate, key="Tab", limit=40):
    for _ in range(limit):
        page.keyboard.press(key)
        focused = _deep_focus(page)
        if predicate(focused):
            return focused
    raise AssertionError(f"never focused the wanted element; last: {focused}")


def test_keyboard_only_flow(page, live_server, stored):
    page.goto(live_server + "/demo")
    _tab_to(page, lambda f: f["tag"] == "INPUT")
    page.keyboard.type("why is the sky blue")
    page.keyboard.press("Enter")
    page.locator("feedback-widget").first.wait_for()
    iid = int(page.locator("feedback-widget").first.get_attribute("response-id"))
    # The answer sits before the form: walk backwards into its widget, to the thumbs-down button.
    _tab_to(page, lambda f: f["text"].endswith("Not helpful"), key="Shift+Tab")
    page.keyboard.press("Space")
    wait_for(lambda: stored(iid).feedback)
    more = _tab_to(page, lambda f: f["part"] == "more")
    assert more["expanded"] == "true"
    _tab_to(page, lambda f: f["text"] == "Too verbose")
    page.keyboard.press("Enter")
    _tab_to(page, lambda f: f["part"] == "comment")
    page.keyboard.type("way too long")
    _tab_to(page, lambda f: f["part"] == "send")
    page.keyboard.press("Enter")
    assert _deep_focus(page)["part"] == "more"  # the panel closed and focus went back to its button
    row = wait_for(lambda: (s := stored(iid)) and s.feedback[0].revision == 2 and s.feedback[0])
    assert (row.score, row.reasons, row.comment) == (-1.0, ["too_verbose"], "way too long")
    # Esc closes the re-opened panel and returns focus to the disclosure button.
    page.keyboard.press("Enter")
    assert _deep_focus(page)["expanded"] == "true"
    _tab_to(page, lambda f: f["part"] == "chip")
    page.keyboard.press("Escape")
    focused = _deep_focus(page)
    assert (focused["part"], focused["expanded"]) == ("more", "false")


def test_changing_the_vote_keeps_one_feedback_at_its_newest_revision(page, live_server, stored):
    iid, widget = ask(page, live_server, "what is the capital of france")
    widget.locator("[part~=thumb-up]").click()
    wait_for(lambda: stored(iid).feedback)
    widget.get_by_role("button", name="Accurate information").click()
    widget.get_by_role("button", name="Send details").click()
    wait_for(lambda: stored(iid).feedback[0].revision == 2)
    widget.locator("[part~=thumb-down]").click()
    data = wait_for(lambda: (s := stored(iid)) and s.feedback[0].revision == 3 and s)
    assert len(data.feedback) == 1
    row = data.feedback[0]
    assert (row.score, row.reasons) == (-1.0, [])  # switching thumbs cleared the positive reasons
    assert [r.revision for r in data.revisions] == [1, 2, 3]
    assert widget.locator("[part~=thumb-up]").get_attribute("aria-pressed") == "false"
    assert widget.locator("[part~=thumb-down]").get_attribute("aria-pressed") == "true"


def test_pressing_the_active_thumb_retracts(page, live_server, stored):
    iid, widget = ask(page, live_server, "how many days in a leap year")
    up = widget.locator("[part~=thumb-up]")
    up.click()
    wait_for(lambda: stored(iid).feedback)
    up.click()
    row = wait_for(lambda: (s := stored(iid)) and s.feedback[0].retracted and s.feedback[0])
    assert (row.score, row.revision) == (None, 2)
    assert up.get_attribute("aria-pressed") == "false"
    wait_for(lambda: widget.get_by_role("status").text_content() == "Feedback removed")


def test_a_double_click_sends_one_request(page, live_server, stored):
    iid, widget = ask(page, live_server, "what is python")
    posts = []
    page.on("request", lambda r: r.method == "POST" and "/api/v1/feedback" in r.url and posts.append(r.url))
    widget.locator("[part~=thumb-up]").dblclick()
    wait_for(lambda: stored(iid).feedback)
    page.wait_for_timeout(700)
    assert len(posts) == 1, posts
    data = stored(iid)
    assert [(f.score, f.revision) for f in data.feedback] == [(1.0, 1)]
    assert len(events(page, "feedback-change")) == 1


def test_offline_vote_survives_a_reload_and_is_stored_once(page, context, live_server, stored):
    """Vote (and change it) offline, leave the page, come back online to it in the same profile.

    (A reload while offline only fails and keeps the old document alive in Chromium, so the page leaves for
    `about:blank` and comes back: a new document where nothing but localStorage survives, which is what a
    reload tests. Closing the page instead raced with its offline emulation: in two of six full test runs a
    feedback reached the server while the page closed, which a browser that is really offline never sends.)
    """
    iid, widget = ask(page, live_server, "what is label studio")
    context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    widget.locator("[part~=thumb-up]").click()
    wait_for(lambda: widget.get_by_role("status").text_content() == "Saved, will send later")
    widget.locator("[part~=thumb-down]").click()
    assert [e["r"] for e in outbox(page).values()] == [2]  # the newest revision waits in the outbox
    page.goto("about:blank")  # pagehide while offline: nothing can be sent
    assert stored(iid).feedback == []
    context.set_offline(False)
    again = page
    posts = []
    again.on("request", lambda r: r.method == "POST" and "/api/v1/feedback" in r.url and posts.append(r.url))
    again.goto(live_server + "/demo")  # loading the widget flushes the outbox left behind
    wait_for(lambda: stored(iid).feedback)
    again.wait_for_timeout(1500)
    data = stored(iid)
    assert [(f.score, f.revision) for f in data.feedback] == [(-1.0, 2)]
    assert [r.revision for r in data.revisions] == [2]  # exactly one stored revision, never duplicated
    assert len(posts) == 1, posts
    assert outbox(again) == {}
