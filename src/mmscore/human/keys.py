"""Keyboard shortcuts of the scoring page (injected into the page head), so a trained annotator
never needs the mouse.

=========================  ==========================================================
key                        action
=========================  ==========================================================
``1`` … ``5``              choose that score
``Enter``                  submit (saves, then shows the next item)
``S``                      skip (the item comes back at the end of the queue)
``B``                      back: re-open the previous item, prefilled, to correct it
``C``                      jump into the comments box
``Space``                  play / pause the video
``Ctrl+Enter`` / ``⌘+Enter``  submit while typing a comment (plain Enter adds a new line)
``Esc``                    leave the comments box (shortcuts work again)
=========================  ==========================================================

Shortcuts are ignored while the focus is in a text field (so typing "s" or "5" in a comment or in
the name box does what it should), on a focused button (its own Enter/Space apply), with
Ctrl/Alt/⌘ held, and for auto-repeated key presses (holding Enter never submits twice).
"""

from __future__ import annotations

HELP_MARKDOWN = (
    "**Keys:** `1`–`5` score · `Enter` submit · `S` skip · `B` back · `C` comments · "
    "`Space` play/pause · in comments: `Ctrl+Enter` submit, `Esc` leave"
)

KEYBOARD_JS = """
<script>
(() => {
  if (window.__mmscoreKeys) return;
  window.__mmscoreKeys = true;
  const byId = (id) => document.getElementById(id);
  const shown = (id) => { const el = byId(id); return !!el && el.offsetParent !== null; };
  const press = (id) => { const el = byId(id); if (el && !el.disabled) el.click(); };
  const isTyping = (el) => !!el && (el.isContentEditable || el.tagName === 'TEXTAREA' ||
      (el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit'].includes(el.type)));
  document.addEventListener('keydown', (ev) => {
    if (!shown('mm-main')) return;
    const target = ev.target;
    if (isTyping(target)) {
      const inComments = !!target.closest('#mm-comments');
      if (inComments && ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.repeat) {
        ev.preventDefault();
        press('mm-submit');
      } else if (ev.key === 'Escape') {
        target.blur();
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    if (target && target.tagName === 'BUTTON' && (ev.key === 'Enter' || ev.key === ' ')) return;
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (key >= '1' && key <= '5') {
      const radios = document.querySelectorAll('#mm-score input[type=radio]');
      const radio = radios[Number(key) - 1];
      if (radio) { radio.click(); ev.preventDefault(); }
    } else if (key === 'Enter') {
      ev.preventDefault(); press('mm-submit');
    } else if (key === 's') {
      ev.preventDefault(); press('mm-skip');
    } else if (key === 'b') {
      ev.preventDefault(); press('mm-back');
    } else if (key === 'c') {
      const box = document.querySelector('#mm-comments textarea');
      if (box) { ev.preventDefault(); box.focus(); }
    } else if (key === ' ') {
      const video = document.querySelector('#mm-video video');
      if (video) { ev.preventDefault(); if (video.paused) video.play(); else video.pause(); }
    }
  });
})();
</script>
"""
