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

**Type-ahead.** A trained annotator types ``4 Enter 3 Enter`` faster than the server answers. While
a Submit, Skip or Back is on its way (from the moment it is sent until the page shows the answer,
recognised by the hidden ``#mm-seq`` counter that every answer changes), further keys are kept in
order and replayed on the item they were meant for, so a score typed ahead is never applied to the
item before it nor lost. Keys typed ahead after ``C`` go into the new item's comments box. If the
server does not answer within 20 s, the typed-ahead keys are dropped (never applied to the wrong
item) and the status line says so.
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
  const isTyping = (el) => !!el && (el.isContentEditable || el.tagName === 'TEXTAREA' ||
      (el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit'].includes(el.type)));
  const ACTIONS = ['mm-submit', 'mm-skip', 'mm-back'];
  // --- type-ahead: while an action is on its way, keys wait and are replayed on the next item
  // the element also holds Gradio's 'processing' timer: read only the 'answer-N' token
  const seq = () => {
    const el = byId('mm-seq');
    const found = el ? /answer-(\\d+)/.exec(el.textContent) : null;
    return found ? found[1] : '';
  };
  let busy = false, sentSeq = '', sentAt = 0, settling = false;
  const buffer = [];
  const begin = () => { if (!busy) { busy = true; sentSeq = seq(); sentAt = Date.now(); } };
  const press = (id) => {
    const el = byId(id);
    if (!el || el.disabled) return false;
    if (ACTIONS.includes(id)) begin();
    el.click();
    return true;
  };
  setInterval(() => {
    if (!busy || settling) return;
    if (seq() !== sentSeq) {
      settling = true;  // let the new item render (and the focus reset run) before replaying
      setTimeout(() => { settling = false; busy = false; flush(); }, 120);
    } else if (Date.now() - sentAt > 20000) {
      busy = false;
      if (buffer.length) {
        buffer.length = 0;
        const status = byId('mm-status');
        if (status) status.textContent = 'No answer from the server: the keys typed ahead were dropped.';
      }
    }
  }, 30);
  const flush = () => {
    let box = null;  // after a replayed C, the keys typed ahead belong to the comments box
    while (!busy && buffer.length) {
      const k = buffer.shift();
      if (box && document.activeElement !== box) box.focus();
      act(k, box || document.activeElement);
      const active = document.activeElement;
      box = active && active.closest && active.closest('#mm-comments') ? active : null;
    }
  };
  const insert = (text) => { document.execCommand('insertText', false, text); };
  // --- one key press (live or replayed); returns true if it was handled here
  const act = (k, target) => {
    if (isTyping(target)) {
      const inComments = !!target.closest('#mm-comments');
      if (inComments && k.key === 'Enter' && (k.ctrl || k.meta)) { press('mm-submit'); return true; }
      if (k.key === 'Escape') { target.blur(); return true; }
      if (k.replay && inComments) {
        if (k.key === 'Enter') insert('\\n');
        else if (k.key === 'Backspace') document.execCommand('delete');
        else if (k.key.length === 1) insert(k.key);
        return true;
      }
      return false;
    }
    if (k.ctrl || k.meta || k.alt) return false;
    if (target && target.tagName === 'BUTTON' && (k.key === 'Enter' || k.key === ' ')) return false;
    const key = k.key.length === 1 ? k.key.toLowerCase() : k.key;
    if (key >= '1' && key <= '5') {
      const radios = document.querySelectorAll('#mm-score input[type=radio]');
      const radio = radios[Number(key) - 1];
      if (radio) { radio.click(); return true; }
    } else if (key === 'Enter') {
      return press('mm-submit');
    } else if (key === 's') {
      return press('mm-skip');
    } else if (key === 'b') {
      return press('mm-back');
    } else if (key === 'c') {
      const box = document.querySelector('#mm-comments textarea');
      if (box) { box.focus(); return true; }
    } else if (key === ' ') {
      const video = document.querySelector('#mm-video video');
      if (video) { if (video.paused) video.play(); else video.pause(); return true; }
    }
    return false;
  };
  // a mouse click on Submit / Skip / Back also starts a round trip
  document.addEventListener('click', (ev) => {
    if (!ev.isTrusted) return;
    const button = ev.target && ev.target.closest && ev.target.closest('button');
    if (button && ACTIONS.includes(button.id)) begin();
  }, true);
  document.addEventListener('keydown', (ev) => {
    if (!shown('mm-main') || ev.repeat) return;
    const k = {key: ev.key, ctrl: ev.ctrlKey, meta: ev.metaKey, alt: ev.altKey, replay: false};
    const target = ev.target;
    const inMain = !isTyping(target) || !!target.closest('#mm-comments');
    const modified = (k.ctrl || k.meta || k.alt) && k.key !== 'Enter';  // browser shortcuts pass
    if ((busy || buffer.length) && inMain && !modified) {
      if (['Shift', 'Control', 'Alt', 'Meta', 'Tab'].includes(k.key)) return;
      ev.preventDefault();
      buffer.push({...k, replay: true});
      return;
    }
    if (act(k, target)) ev.preventDefault();
  });
})();
</script>
"""
