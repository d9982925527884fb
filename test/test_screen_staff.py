"""The screen's staff banner in a real headless browser against the real screen node: "a staff member is
watching / speaking" appears in the visitor's language while ScreenCard.staff is set, and goes when it is not
(the telepresence seam: the interaction node sets staff on every card while an operator watches or speaks)."""
from __future__ import annotations

from test_screen_page import SHOTS, Screen, say, screen  # noqa: F401 - the page fixture and its helpers

BANNER = '#staff'


def banner(s: Screen) -> dict:
    return s.page.evaluate("""(() => { const b = document.querySelector('#staff');
        return {visible: !b.hidden && b.offsetHeight > 0, text: b.textContent, lang: b.lang,
                children: b.children.length, staff: b.dataset.staff}; })()""")


def test_staff_banner_appears_in_the_visitors_language_and_goes(screen):  # noqa: F811 - the fixture
    s = screen
    assert banner(s)['visible'] is False                      # nobody watching: no banner
    s.card('listening', visitor='v1', language='th', staff='watching')
    s.until(f'document.querySelector("{BANNER}").hidden === false')
    shown = banner(s)
    assert shown['visible'] and shown['text'] == say('screen_staff_watching', 'th') and shown['lang'] == 'th'
    assert shown['children'] == 0 and shown['staff'] == 'watching'      # plain text, no markup
    # An operator takes over and speaks: the banner says so.
    s.card('answer', visitor='v1', language='th', text='ห้องน้ำอยู่ทางซ้ายครับ', staff='speaking')
    s.until(f'document.querySelector("{BANNER}").dataset.staff === "speaking"')
    assert banner(s)['text'] == say('screen_staff_speaking', 'th')
    # The same card in another visitor's language: the banner follows it.
    s.card('listening', visitor='v2', language='zh', staff='speaking')
    s.until(f'document.querySelector("{BANNER}").lang === "zh"')
    assert banner(s)['text'] == say('screen_staff_speaking', 'zh')
    SHOTS.mkdir(parents=True, exist_ok=True)
    s.page.screenshot(path=str(SHOTS / 'staff_speaking_zh.png'))   # for a person to look at
    # Handed back and nobody watching: gone.
    s.card('listening', visitor='v2', language='zh')
    s.until(f'document.querySelector("{BANNER}").hidden === true')
    assert banner(s)['visible'] is False
    # Watching on the attract screen (no visitor yet): in English, the page's language then.
    s.card('attract', staff='watching')
    s.until(f'document.querySelector("{BANNER}").hidden === false')
    assert (banner(s)['text'], banner(s)['lang']) == (say('screen_staff_watching', 'en'), 'en')
