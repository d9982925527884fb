// The robot's touchscreen page: speaks the WebSocket protocol of docs/screen.md (version 1).
// Plain modern JavaScript, no build step. Every visitor and assistant text is set with textContent
// (never innerHTML); the only markup from the server, a booking code's QR SVG, is shown as an <img>.
'use strict';

const $ = (id) => document.getElementById(id);
const S = {
  ws: null, retry: 0, hello: null, phrases: {}, languages: [], quick: [], hearable: [],
  card: null, lang: null, speaking: false, staff: null, qr: {}, partial: null,
};
const MAX_CAPTIONS = 8;
const BEARINGS = { ahead: 0, ahead_right: 45, right: 90, behind_right: 135, behind: 180, behind_left: 225, left: 270, ahead_left: 315 };
const SVG = 'http://www.w3.org/2000/svg';

// --- small helpers ------------------------------------------------------------------------------
function el(tag, className, text, lang) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (lang) node.lang = lang;
  return node;
}
function uiLang() { return S.lang || (S.card && S.card.language) || 'en'; }
function phrase(key, lang) {
  const code = lang || uiLang();
  const table = S.phrases[code] || {};
  if (typeof table[key] === 'string') return [table[key], code];
  const en = S.phrases.en || {};
  return [typeof en[key] === 'string' ? en[key] : '', 'en'];
}
function setPhrase(node, key, lang) {
  const [text, code] = phrase(key, lang);
  node.textContent = text;
  node.lang = code;
  return text;
}
function send(frame) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) { S.ws.send(JSON.stringify(frame)); return true; }
  return false;
}
function str(v, max = 200) { return (typeof v === 'string' || typeof v === 'number') ? String(v).slice(0, max) : ''; }

// --- connection ---------------------------------------------------------------------------------
function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const ws = new WebSocket(url);
  S.ws = ws;
  ws.onopen = () => { S.retry = 0; $('conn').hidden = true; };
  ws.onmessage = (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    if (frame && typeof frame === 'object') handle(frame);
  };
  ws.onclose = () => {
    $('conn').hidden = false;
    S.retry = Math.min(S.retry + 1, 6);
    setTimeout(connect, 250 * 2 ** S.retry);
  };
}

function handle(f) {
  switch (f.type) {
    case 'hello': onHello(f); break;
    case 'card': onCard(f); break;
    case 'caption': addCaption(f.who === 'robot' ? 'robot' : 'visitor', str(f.text, 2000), f.language, f.final !== false); break;
    case 'state':
      S.speaking = !!f.speaking;
      S.staff = f.staff === 'watching' || f.staff === 'speaking' ? f.staff : null;
      renderState();
      break;
    case 'screen_text': addCaption('robot', str(f.text, 2000), f.language, true, 'screen-text'); break;
    case 'qr': onQr(f); break;
    default: break;   // a newer server's frame: ignored
  }
}

function onHello(f) {
  S.hello = f;
  S.languages = Array.isArray(f.languages) ? f.languages : [];
  S.phrases = f.phrases && typeof f.phrases === 'object' ? f.phrases : {};
  S.quick = Array.isArray(f.quick_questions) ? f.quick_questions : [];
  S.hearable = Array.isArray(f.hearable) ? f.hearable : [];
  renderWelcome();
  renderPicker();
  render();
}

function onCard(card) {
  const previous = S.card;
  S.card = card;
  if (card.kind === 'attract') {
    S.lang = null;
    clearConversation();
  } else if (card.language) {
    S.lang = card.language;
  } else if (previous && previous.visitor !== card.visitor) {
    S.lang = null;
  }
  if (card.kind === 'answer') renderAnswer(card);
  else if (card.kind === 'greeting' || card.kind === 'attract') $('answer').hidden = true;
  render();
}

function onQr(f) {
  const svg = str(f.svg, 200000);
  if (typeof f.for !== 'string' || !/^\s*<(\?xml|svg)[\s>]/.test(svg)) return;
  S.qr[f.for] = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  for (const img of document.querySelectorAll('img.qr')) {
    if (img.dataset.code === f.for) img.src = S.qr[f.for];
  }
}

function clearConversation() {
  $('captions').replaceChildren();
  $('cards').replaceChildren();
  $('answer-text').textContent = '';
  $('answer').hidden = true;
  S.partial = null;
  S.qr = {};
}

// --- rendering ----------------------------------------------------------------------------------
function render() {
  const kind = S.card ? S.card.kind : 'attract';
  const mode = kind === 'attract' ? 'attract' : kind === 'greeting' ? 'greeting' : 'conversation';
  document.body.className = mode;
  document.documentElement.lang = mode === 'attract' ? 'en' : uiLang();
  $('welcome').hidden = mode !== 'attract';
  const greetings = $('greetings');
  greetings.hidden = mode !== 'greeting';
  if (mode === 'greeting') {
    const codes = S.card.languages && S.card.languages.length ? S.card.languages : S.languages.map((l) => l.code);
    greetings.replaceChildren(...codes.map((code) => el('li', null, phrase('screen_welcome', code)[0], code)));
  }
  setPhrase($('title'), 'screen_welcome', mode === 'attract' ? 'en' : uiLang());
  setPhrase($('choose'), 'screen_choose_language', mode === 'conversation' ? uiLang() : firstLanguage());
  for (const button of $('picker').children) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === S.lang));
  }
  const typeHere = setPhrase($('ask-label'), 'screen_type_here');
  const input = $('ask-input');
  input.placeholder = typeHere;
  input.lang = uiLang();
  setPhrase($('send'), 'screen_send');
  renderQuick();
  setPhrase($('privacy'), 'screen_privacy', mode === 'attract' ? firstLanguage() : uiLang());
  renderState();
}

function firstLanguage() {
  if (S.lang) return S.lang;
  if (S.card && S.card.languages && S.card.languages.length) return S.card.languages[0];
  return 'en';
}

function renderWelcome() {
  const items = S.languages.map((l) => el('li', null, phrase('screen_welcome', l.code)[0], l.code));
  $('welcomes').replaceChildren(...items);
}

function renderPicker() {
  const buttons = S.languages.map((l) => {
    const b = el('button', null, str(l.native_name, 60), l.code);
    b.type = 'button';
    b.dataset.lang = l.code;
    b.title = str(l.english_name, 60);
    b.addEventListener('click', () => chooseLanguage(l.code));
    return b;
  });
  $('picker').replaceChildren(...buttons);
}

function renderQuick() {
  const lang = uiLang();
  const buttons = S.quick.map((key) => {
    const b = el('button');
    b.type = 'button';
    setPhrase(b, key, lang);
    b.dataset.key = key;
    b.addEventListener('click', () => {
      const [text, code] = phrase(key, lang);
      addCaption('visitor', text, code, true);
      send({ type: 'quick', key, language: lang });
    });
    return b;
  });
  $('quick').replaceChildren(...buttons);
}

function renderState() {
  const kind = S.card ? S.card.kind : 'attract';
  let state = 'idle';
  if (S.speaking) state = 'speaking';
  else if (kind === 'thinking') state = 'thinking';
  else if (kind === 'listening' || kind === 'answer' || kind === 'greeting') state = 'listening';
  if (state === 'listening' && S.card && S.card.can_hear === false) state = 'idle';
  const node = $('state');
  node.dataset.state = state;
  const text = $('state-text');
  if (state === 'speaking') setPhrase(text, 'screen_speaking');
  else if (state === 'listening') setPhrase(text, 'screen_listening');
  else if (state === 'thinking') { text.textContent = '…'; text.lang = uiLang(); }
  else text.textContent = '';
  // An operator watches the robot's view, or speaks through it: the visitor is told, in their language.
  const staff = $('staff');
  staff.hidden = !S.staff;
  staff.dataset.staff = S.staff || '';
  if (S.staff) setPhrase(staff, S.staff === 'speaking' ? 'screen_staff_speaking' : 'screen_staff_watching');
}

function addCaption(who, text, lang, final, extra) {
  if (!text) return;
  const list = $('captions');
  let item = who === 'visitor' ? S.partial : null;
  if (!item) {
    item = el('li', who + (extra ? ' ' + extra : ''));
    list.append(item);
  }
  item.textContent = text;
  if (typeof lang === 'string') item.lang = lang;
  item.classList.toggle('partial', !final);
  S.partial = who === 'visitor' && !final ? item : (who === 'visitor' ? null : S.partial);
  while (list.children.length > MAX_CAPTIONS) list.firstElementChild.remove();
  item.scrollIntoView({ block: 'nearest' });
}

// --- the answer and its cards -------------------------------------------------------------------
function renderAnswer(card) {
  const lang = card.language || uiLang();
  const text = $('answer-text');
  text.textContent = str(card.text, 2000);
  text.lang = lang;
  const cards = [];
  for (const action of Array.isArray(card.actions) ? card.actions : []) {
    const maker = ACTIONS[action && action.type];
    if (maker) {
      const node = maker(action, lang);
      if (node) { node.dataset.action = action.type; cards.push(node); }
    }
  }
  $('cards').replaceChildren(...cards);
  $('answer').hidden = !text.textContent && !cards.length;
}

function cardNode(extra, titleKey, lang) {
  const node = el('section', 'card' + (extra ? ' ' + extra : ''));
  node.lang = lang;
  if (titleKey) {
    const h = el('h3');
    setPhrase(h, titleKey, lang);
    node.append(h);
  }
  return node;
}

function arrow(degrees) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 100 100');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', 'M50 6 L86 50 L62 50 L62 94 L38 94 L38 50 L14 50 Z');
  path.setAttribute('fill', '#ffd166');
  svg.append(path);
  svg.style.transform = `rotate(${degrees}deg)`;
  return svg;
}

const ACTIONS = {
  show_map(a, lang) {
    const node = cardNode('map', null, lang);
    const deg = typeof a.bearing === 'number' ? a.bearing : BEARINGS[a.bearing];
    const box = el('div', 'arrow');
    box.dataset.rotation = String(deg === undefined ? 0 : deg);
    box.append(arrow(deg === undefined ? 0 : deg));
    const dl = el('dl', 'figures');
    if (typeof a.distance_m === 'number') {
      const dt = el('dt');
      setPhrase(dt, 'screen_distance', lang);
      dl.append(dt, el('dd', 'distance', `${Math.round(a.distance_m)} m`));
    }
    if (a.floor !== undefined && a.floor !== null) {
      const dt = el('dt');
      setPhrase(dt, 'screen_floor', lang);
      dl.append(dt, el('dd', 'floor', str(a.floor, 20)));
    }
    node.append(box, dl);
    return node;
  },
  show_exhibitors(a, lang) {
    const node = cardNode('exhibitors', 'screen_exhibitors', lang);
    const list = el('ul');
    for (const item of (Array.isArray(a.items) ? a.items : []).slice(0, 20)) {
      if (!item || typeof item !== 'object') continue;
      const li = el('li');
      li.append(el('strong', null, str(item.local_name || item.name)));
      if (item.local_name && item.name && item.local_name !== item.name) li.append(' ', el('span', 'meta', str(item.name), 'en'));
      const where = [str(item.hall_name || item.hall), str(item.booth)].filter(Boolean).join(' · ');
      if (where) li.append(el('div', 'meta', where));
      list.append(li);
    }
    node.append(list);
    return node;
  },
  offer_slots(a, lang) {
    const node = cardNode('slots-card', 'screen_slots', lang);
    const row = el('div', 'slots');
    const day = typeof a.day === 'string' ? a.day : new Date().toLocaleDateString('sv');
    for (const start of (Array.isArray(a.slots) ? a.slots : []).slice(0, 40)) {
      if (typeof start !== 'string') continue;
      const b = el('button', null, start);
      b.type = 'button';
      b.dataset.start = start;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        for (const other of row.children) other.setAttribute('aria-pressed', String(other === b));
        const [text, code] = phrase('book_slot', lang);
        addCaption('visitor', text.split('{time}').join(start), code, true);
        send({ type: 'book', exhibitor_id: str(a.exhibitor_id, 128), day, start, language: S.lang || lang });
      });
      row.append(b);
    }
    node.append(row);
    return node;
  },
  meeting_booked(a, lang) {
    const node = cardNode('booked', 'screen_booking_code', lang);
    const code = str(a.code, 64);
    node.append(el('p', 'code', code, 'en'));
    const img = el('img', 'qr');
    img.alt = `QR ${code}`;
    img.dataset.code = code;
    img.src = S.qr[code] || `/qr?code=${encodeURIComponent(code)}`;
    node.append(img);
    const when = [str(a.day, 20), str(a.start, 10)].filter(Boolean).join(' ');
    if (when) node.append(el('p', 'meta', when));
    return node;
  },
  show_events(a, lang) {
    const node = cardNode('events', 'screen_events', lang);
    const list = el('ul');
    for (const item of (Array.isArray(a.items) ? a.items : []).slice(0, 30)) {
      if (!item || typeof item !== 'object') continue;
      const li = el('li');
      li.append(el('strong', null, `${str(item.start, 10)}–${str(item.end, 10)}`), ' ', el('span', null, str(item.title)));
      list.append(li);
    }
    node.append(list);
    return node;
  },
  offer_call_staff(a, lang) {
    const node = cardNode('offer', null, lang);
    const b = el('button');
    b.type = 'button';
    setPhrase(b, 'quick_staff', lang);
    b.addEventListener('click', () => {
      addCaption('visitor', b.textContent, b.lang, true);
      send({ type: 'quick', key: 'quick_staff', language: S.lang || lang });
    });
    node.append(b);
    return node;
  },
};

// --- what the visitor does ----------------------------------------------------------------------
function chooseLanguage(code) {
  S.lang = code;
  send({ type: 'choose_language', language: code });
  render();
}

function onAsk(event) {
  event.preventDefault();
  const input = $('ask-input');
  const text = input.value.trim();
  if (!text) return;
  addCaption('visitor', text, S.lang || undefined, true);
  send({ type: 'ask', text: text.slice(0, 500), language: S.lang });
  input.value = '';
}

document.addEventListener('DOMContentLoaded', () => {
  $('ask').addEventListener('submit', onAsk);
  render();
  connect();
});
