// The operators' console page: plain ES module, no framework, no build step (the CSP allows only scripts
// from the console itself). Everything a robot or a visitor said is put in the page with textContent (el()
// below never parses HTML): a visitor can say anything, including markup. Interface strings: i18n.json.

const $ = (selector) => document.querySelector(selector);
const CMD_OK_STATUS = 202;
const AGE_REFRESH_MS = 5000;           // heartbeat ages: /api/robots again (the stream carries changes only)
const STREAM_STATES = ['open', 'acknowledged', 'assigned', 'escalated'];

const app = {
  strings: { en: {}, zh: {} },
  lang: 'en',
  me: null,                  // {user, role, permissions, csrf}
  robots: new Map(),         // robot_id -> summary (hub._summary)
  alerts: new Map(),         // `${robot}/${id}` -> alert row
  phrases: null,             // /api/phrases: {languages, phrases}
  stream: null,
  view: null,
  robotId: null,             // the robot whose view is open
  watching: null,            // the robot this page told to send thumbnails
  pending: new Map(),        // command_id -> kind (for the ack's message)
  early: new Map(),          // acks that came over the stream before their POST answered (a quick robot)
  thumbAt: 0,
  sayLangTouched: false,
  auditBefore: null,
  agesTimer: null,
  chart: null,
  analytics: null,
};

// -- text --------------------------------------------------------------------------------------------------
function t(key, vars = {}) {
  const text = app.strings[app.lang]?.[key] ?? app.strings.en[key] ?? key;
  // Values are inserted as plain text and end up in textContent: never markup.
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) { node.replaceChildren(); return node; }

function applyStrings() {
  document.documentElement.lang = app.lang === 'zh' ? 'zh-CN' : 'en';
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
  $('#ui-lang').value = app.lang;
}

function timeOf(seconds) {
  if (!seconds) return '';
  return new Intl.DateTimeFormat(app.lang === 'zh' ? 'zh-CN' : 'en-GB',
    { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(seconds * 1000));
}

function languageName(code) {
  if (!code) return t('no_language');
  const info = app.phrases?.languages.find((l) => l.code === code);
  return info ? `${info.native} (${code})` : code;
}

// -- API ---------------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message || `HTTP ${status}`);
    Object.assign(this, { status, code: error.code || 'http', extra: error });
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && app.me) headers['X-CSRF-Token'] = app.me.csrf;
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: t('err_network') } });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    error.retryAfter = response.headers.get('Retry-After');
    if (response.status === 401 && path !== '/api/login') sessionEnded();
    throw error;
  }
  return data;
}

// What a refusal means, in the operator's language (the server's English message for the rest).
function refusal(error) {
  if (error.code === 'held') return t('err_held', { holder: error.extra.holder ?? '?' });
  if (error.code === 'forbidden') return t('err_forbidden', { role: t(`role_${app.me?.role}`) });
  if (error.code === 'network') return t('err_network');
  return t('err_generic', { message: error.message });
}

// -- session -----------------------------------------------------------------------------------------------
async function start() {
  try {
    app.strings = await (await fetch('i18n.json')).json();
  } catch { /* the page still works with its built-in English */ }
  const saved = localStorage.getItem('caexpo_console.lang');
  app.lang = saved || (navigator.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en');
  applyStrings();
  bindStatic();
  try {
    signedIn(await api('GET', '/api/me'));
  } catch {
    showLogin();
  }
}

function showLogin(message = '') {
  app.me = null;
  stopStream();
  for (const id of ['#nav', '#whoami', '#logout', '#link-state']) $(id).hidden = true;
  show('login');
  $('#login-error').textContent = message;
  $('#login-name').focus();
}

function sessionEnded() {
  if (app.me) showLogin(t('session_ended'));
}

function signedIn(me) {
  app.me = me;
  $('#nav').hidden = false;
  $('#logout').hidden = false;
  $('#nav-audit').hidden = !me.permissions.includes('audit');
  $('#an-export').hidden = !me.permissions.includes('analytics_export');
  $('#btn-force').hidden = !me.permissions.includes('force_hand_back');
  renderWho();
  api('GET', '/api/phrases').then((p) => { app.phrases = p; fillSayLanguages(); renderQuick(); })
    .catch(() => { app.phrases = { languages: [], phrases: {} }; });
  startStream();
  clearInterval(app.agesTimer);
  app.agesTimer = setInterval(refreshAges, AGE_REFRESH_MS);
  if (!location.hash || location.hash === '#/login') location.hash = '#/fleet';
  route();
}

function renderWho() {
  if (!app.me) return;
  const who = $('#whoami');
  who.hidden = false;
  who.textContent = t('signed_in_as', { user: app.me.user, role: t(`role_${app.me.role}`) });
}

async function login(event) {
  event.preventDefault();
  const error = $('#login-error');
  error.textContent = '';
  try {
    const me = await api('POST', '/api/login', { name: $('#login-name').value, password: $('#login-password').value });
    $('#login-password').value = '';
    signedIn(me);
  } catch (exc) {
    error.textContent = exc.status === 429 ? t('login_limited', { s: exc.retryAfter ?? '?' })
      : t('login_failed', { message: exc.message });
  }
}

async function logout() {
  try { await api('POST', '/api/logout'); } catch { /* the session may be gone already */ }
  app.watching = null;
  showLogin();
}

// -- stream ------------------------------------------------------------------------------------------------
function startStream() {
  stopStream();
  const stream = app.stream = new EventSource('/api/stream');
  const on = (type, handler) => stream.addEventListener(type, (e) => handler(JSON.parse(e.data)));
  on('snapshot', (e) => {
    app.robots = new Map(e.robots.map((r) => [r.robot_id, r]));
    app.alerts = new Map(e.alerts.map((a) => [`${a.robot}/${a.id}`, a]));
    linkState(true);
    renderFleet(); renderAlerts();
    // The server stops a session's watches when its stream closes: a reconnected stream watches again.
    if (app.view === 'robot' && app.robotId) { renderRobot(); setWatch(app.robotId, true, true); }
  });
  on('robot', (e) => {
    app.robots.set(e.robot.robot_id, e.robot);
    renderCard(e.robot.robot_id); renderSummary();
    if (e.robot.robot_id === app.robotId) renderRobot();
  });
  on('alert', (e) => {
    const key = `${e.alert.robot}/${e.alert.id}`;
    if (STREAM_STATES.includes(e.alert.state)) app.alerts.set(key, e.alert); else app.alerts.delete(key);
    renderCard(e.alert.robot); renderSummary(); renderAlerts();
    if (e.alert.robot === app.robotId) renderRobotAlerts();
  });
  on('transcript', (e) => { if (e.robot_id === app.robotId) addLine(e.line); });
  on('thumbnail', (e) => { if (e.robot_id === app.robotId) showThumbnail(e.thumbnail); });
  on('ack', (e) => onAck(e));
  on('dropped', () => stream.close());   // too slow: reconnect below with a fresh snapshot
  stream.onopen = () => linkState(true);
  stream.onerror = () => {
    linkState(false);
    if (stream.readyState === EventSource.CLOSED) {
      // Closed for good (e.g. 401 after the session expired, or dropped): ask who we are, then retry.
      setTimeout(() => api('GET', '/api/me').then(() => { if (app.stream === stream) startStream(); })
        .catch(() => {}), 2000);
    }
  };
}

function stopStream() {
  if (app.stream) app.stream.close();
  app.stream = null;
  clearInterval(app.agesTimer);
}

function linkState(live) {
  const node = $('#link-state');
  node.hidden = false;
  node.classList.toggle('lost', !live);
  node.textContent = live ? t('stream_live') : t('stream_lost');
}

async function refreshAges() {
  if (!app.me || document.hidden) return;
  try {
    const { robots } = await api('GET', '/api/robots');
    for (const robot of robots) { app.robots.set(robot.robot_id, robot); renderCard(robot.robot_id); }
    renderSummary();
    if (app.robotId) renderRobotLink();
  } catch { /* the stream's state line already says the console is unreachable */ }
}

// -- routing -----------------------------------------------------------------------------------------------
const VIEWS = ['login', 'fleet', 'robot', 'alerts', 'analytics', 'audit'];

function show(view) {
  for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view || (view === 'robot' && link.dataset.view === 'fleet')) {
      link.setAttribute('aria-current', 'page');
    } else link.removeAttribute('aria-current');
  }
  app.view = view;
}

function route() {
  if (!app.me) return showLogin();
  const [, name = 'fleet', arg] = location.hash.split('/');
  const robotId = name === 'robot' && arg ? decodeURIComponent(arg) : null;
  if (app.robotId && app.robotId !== robotId) closeRobot();
  if (robotId) return openRobot(robotId);
  const view = VIEWS.includes(name) && name !== 'login' && name !== 'robot' ? name : 'fleet';
  show(view);
  $(`#${view}-h`)?.focus();
  if (view === 'analytics') loadAnalytics();
  if (view === 'audit') loadAudit(true);
  if (view === 'fleet') renderFleet();
  if (view === 'alerts') renderAlerts();
}

// -- fleet -------------------------------------------------------------------------------------------------
function openAlerts(robotId) {
  let n = 0;
  for (const alert of app.alerts.values()) {
    if (alert.robot === robotId && alert.state !== 'acknowledged') n += 1;
  }
  return n;
}

function chipsOf(robot) {
  const s = robot.state || {};
  const chips = [];
  if (robot.holder) chips.push(el('span', { class: 'chip held', text: t('held_by', { who: robot.holder }) }));
  if (s.greeting_paused) chips.push(el('span', { class: 'chip paused', text: t('greeting_paused') }));
  if (s.conversation) chips.push(el('span', { class: 'chip conv', text: t('in_conversation') }));
  if (s.visitor_language) {
    chips.push(el('span', { class: 'chip', lang: s.visitor_language, title: languageName(s.visitor_language),
      text: s.visitor_language.toUpperCase() }));
  }
  if (s.screen) chips.push(el('span', { class: 'chip', text: t(`screen_${s.screen}`) }));
  if (s.speaking) chips.push(el('span', { class: 'chip', text: t('speaking') }));
  if (s.diagnostics_level) {
    chips.push(el('span', { class: `chip diag${s.diagnostics_level}`, text: t(`diag_${s.diagnostics_level}`) }));
  }
  const alerts = openAlerts(robot.robot_id);
  if (alerts) chips.push(el('span', { class: 'chip alerts', text: t('alerts_n', { n: alerts }) }));
  return chips;
}

function linkText(robot) {
  if (robot.heartbeat_age_s === null || robot.heartbeat_age_s === undefined) return t('never_seen');
  const age = Math.round(robot.heartbeat_age_s);
  return `${robot.online ? t('online') : t('offline')} · ${t('age_s', { s: age })}`;
}

function cardOf(robot) {
  const s = robot.state || {};
  const level = !robot.online ? 'offline' : (s.diagnostics_level >= 2 || openAlerts(robot.robot_id)) ? 'bad'
    : s.diagnostics_level === 1 ? 'warn' : '';
  const name = robot.label || robot.robot_id;
  return el('a', { class: `card ${level}`, href: `#/robot/${encodeURIComponent(robot.robot_id)}`,
    'data-robot': robot.robot_id, 'data-online': robot.online ? 'true' : 'false' },
  el('span', { class: 'top' }, el('span', { class: 'id', text: name }), el('span', { class: 'link', text: linkText(robot) })),
  el('span', { class: 'chips' }, robot.entrance ? el('span', { class: 'chip where', text: robot.entrance }) : null,
    chipsOf(robot)));
}

function renderFleet() {
  const list = clear($('#fleet'));
  const ids = [...app.robots.keys()].sort();
  for (const id of ids) list.append(el('li', { id: `card-${id}` }, cardOf(app.robots.get(id))));
  if (!ids.length) list.append(el('li', { class: 'note', text: t('fleet_empty') }));
  renderSummary();
}

function renderCard(robotId) {
  const robot = app.robots.get(robotId);
  const item = document.getElementById(`card-${robotId}`);
  if (!robot) return;
  if (!item) return renderFleet();
  item.replaceChildren(cardOf(robot));
}

function renderSummary() {
  const robots = [...app.robots.values()];
  const open = [...app.alerts.values()].filter((a) => a.state !== 'acknowledged').length;
  $('#fleet-summary').textContent = t('fleet_summary', { online: robots.filter((r) => r.online).length,
    total: robots.length, alerts: open });
  const badge = $('#alert-badge');
  badge.hidden = !open;
  badge.textContent = String(open);
}

// -- one robot ---------------------------------------------------------------------------------------------
async function openRobot(robotId) {
  const first = app.robotId !== robotId;
  app.robotId = robotId;
  show('robot');
  if (!first) return renderRobot();
  $('#robot-h').textContent = t('robot_title', { id: robotId });
  $('#robot-error').textContent = '';
  $('#robot-status').textContent = '';
  clear($('#transcript'));
  $('#thumb').hidden = true;
  $('#thumb-note').textContent = t('thumbnail_waiting');
  app.sayLangTouched = false;
  $('#robot-h').focus();
  try {
    const [detail, transcript] = await Promise.all([
      api('GET', `/api/robots/${encodeURIComponent(robotId)}`),
      api('GET', `/api/robots/${encodeURIComponent(robotId)}/transcript`)]);
    if (app.robotId !== robotId) return;
    const { alerts: _alerts, conversations: _conversations, ...summary } = detail;
    app.robots.set(robotId, summary);
    clear($('#transcript'));
    for (const line of transcript.lines) addLine(line);
  } catch (exc) {
    $('#robot-error').textContent = refusal(exc);
  }
  renderRobot();
  setWatch(robotId, true);
}

function closeRobot() {
  if (app.watching) setWatch(app.watching, false);
  app.robotId = null;
}

// watch true while the view is open (thumbnails ~1 fps, the robot's "staff member watching" banner), false
// when it closes. A viewer may not watch: the page says so instead of a picture.
async function setWatch(robotId, watching, again = false) {
  if (!watching && app.watching !== robotId) return;
  if (watching && app.watching === robotId && !again) return;
  app.watching = watching ? robotId : null;
  try {
    await api('POST', `/api/robots/${encodeURIComponent(robotId)}/commands`, { kind: 'watch', watching });
  } catch (exc) {
    if (watching && app.robotId === robotId) {
      $('#thumb-note').textContent = exc.code === 'forbidden' ? t('thumbnail_forbidden') : refusal(exc);
    }
  }
}

function showThumbnail(thumbnail) {
  const img = $('#thumb');
  img.src = `data:image/jpeg;base64,${thumbnail.jpeg_b64}`;
  img.width = thumbnail.width; img.height = thumbnail.height;
  img.alt = t('thumbnail_alt', { id: app.robotId, age: 0 });
  img.hidden = false;
  $('#thumb-note').textContent = '';
  app.thumbAt = thumbnail.stamp;
}

function renderRobotLink() {
  const robot = app.robots.get(app.robotId);
  const node = $('#robot-link');
  if (!robot) return;
  node.className = `pill ${robot.online ? 'online' : 'offline'}`;
  node.textContent = linkText(robot);
}

function renderRobot() {
  const robot = app.robots.get(app.robotId);
  if (!robot) return;
  $('#robot-h').textContent = t('robot_title', { id: robot.label ? `${robot.label} (${robot.robot_id})` : robot.robot_id });
  renderRobotLink();
  const s = robot.state || {};
  const rows = [
    ['takeover', robot.holder || t('nobody')],
    ['greeting_paused', s.greeting_paused ? '✔' : '—'],
    ['conversation', s.conversation || t('none')],
    ['visitor_language', s.visitor_language ? languageName(s.visitor_language) : t('none')],
    ['screen', s.screen ? t(`screen_${s.screen}`) : t('none')],
    ['speaking', s.speaking ? '✔' : '—'],
    ['watchers', (s.watchers || []).join(', ') || t('nobody')],
    ['diagnostics', t(`diag_${s.diagnostics_level ?? 0}`)],
  ];
  const dl = clear($('#robot-state'));
  for (const [key, value] of rows) dl.append(el('dt', { text: t(key) }), el('dd', { text: value }));
  for (const item of s.diagnostics || []) {
    if (item.level) dl.append(el('dt', { text: item.name }), el('dd', { text: `${t(`diag_${item.level}`)}: ${item.message}` }));
  }
  const mine = robot.holder && robot.holder === app.me?.user;
  $('#btn-take').hidden = Boolean(mine);
  $('#btn-hand').hidden = !mine;
  $('#btn-force').hidden = !(app.me?.permissions.includes('force_hand_back') && robot.holder && !mine);
  $('#btn-pause').hidden = Boolean(s.greeting_paused);
  $('#btn-resume').hidden = !s.greeting_paused;
  if (!app.sayLangTouched) $('#say-lang').value = s.visitor_language || '';
  renderQuick();
  renderRobotAlerts();
}

function renderRobotAlerts() {
  const list = clear($('#robot-alerts'));
  for (const alert of app.alerts.values()) {
    if (alert.robot !== app.robotId) continue;
    list.append(el('li', { class: alert.state },
      `${timeOf(alert.raised_at)} ${t(`alert_${alert.type}`)} · ${t(`state_${alert.state}`)}`,
      alert.detail ? el('span', { class: 'meta', text: ` — ${alert.detail}` }) : null));
  }
  if (!list.children.length) list.append(el('li', { class: 'note', text: t('alerts_empty') }));
}

// Transcript: final lines appended; a partial line is shown once per (conversation, side) and replaced by
// the next partial or the final one.
function addLine(line) {
  const list = $('#transcript');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const key = `${line.conversation || ''}|${line.side}`;
  const partial = [...list.querySelectorAll('li.partial')].find((li) => li.dataset.key === key);
  const item = lineOf(line);
  item.dataset.key = key;
  if (partial) partial.replaceWith(item); else list.append(item);
  while (list.children.length > 400) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function lineOf(line) {
  const reply = line.kind === 'reply';
  const who = reply ? t('side_assistant') : line.side === 'operator' ? t('side_operator', { who: line.operator || '?' })
    : t(`side_${line.side}`);
  const item = el('li', { class: `line side-${line.side} ${reply ? 'reply' : ''} ${line.final ? 'final' : 'partial'}`,
    'data-side': line.side, 'data-final': line.final ? 'true' : 'false' },
  el('span', { class: 'time', text: timeOf(line.at) }),
  el('span', { class: 'who', text: who }),
  line.language ? el('span', { class: 'lang', title: languageName(line.language), text: line.language }) : null,
  // The words themselves: always text. lang= picks the right font for the script.
  el('span', { class: 'text', lang: line.language || null, text: line.text }),
  line.final ? null : el('span', { class: 'meta', text: ` ${t('partial')}` }));
  if (reply) {
    const meta = [];
    if (line.intent) meta.push(t('intent', { intent: line.intent }));
    if (line.actions?.length) meta.push(t('actions', { actions: line.actions.join(' · ') }));
    if (meta.length) item.append(el('div', { class: 'meta', text: meta.join(' — ') }));
  }
  return item;
}

function fillSayLanguages() {
  const select = clear($('#say-lang'));
  select.append(el('option', { value: '', text: t('say_visitor_language') }));
  for (const info of app.phrases?.languages || []) {
    select.append(el('option', { value: info.code, lang: info.code, text: `${info.native} — ${info.name}` }));
  }
  const robot = app.robots.get(app.robotId);
  if (robot && !app.sayLangTouched) select.value = robot.state?.visitor_language || '';
}

function renderQuick() {
  const list = clear($('#quick'));
  const robot = app.robots.get(app.robotId);
  const lang = $('#say-lang').value || robot?.state?.visitor_language || 'en';
  const phrases = app.phrases?.phrases?.[lang] || [];
  for (const phrase of phrases) {
    list.append(el('li', {}, el('button', { type: 'button', lang, 'data-key': phrase.key, text: phrase.text,
      onclick: () => { $('#say-text').value = phrase.text; $('#say-lang').value = lang; app.sayLangTouched = true;
        $('#say-text').focus(); } })));
  }
  if (!phrases.length) list.append(el('li', { class: 'note', text: t('quick_none') }));
}

async function command(kind, extra = {}) {
  const robotId = app.robotId;
  $('#robot-error').textContent = '';
  $('#robot-status').textContent = '';
  try {
    const answer = await api('POST', `/api/robots/${encodeURIComponent(robotId)}/commands`, { kind, ...extra });
    if (app.robotId === robotId) $('#robot-status').textContent = t('cmd_sent', { command: t(kind) });
    app.pending.set(answer.command_id, kind);
    const early = app.early.get(answer.command_id);
    if (early) { app.early.delete(answer.command_id); onAck(early); }
    return true;
  } catch (exc) {
    if (app.robotId === robotId) $('#robot-error').textContent = `${t(kind)} — ${refusal(exc)}`;
    return false;
  }
}

function onAck(event) {
  const kind = app.pending.get(event.ack.command_id);
  if (!kind) {   // another operator's command, or ours before its POST answered: kept a little while
    app.early.set(event.ack.command_id, event);
    if (app.early.size > 100) app.early.delete(app.early.keys().next().value);
    return;
  }
  app.pending.delete(event.ack.command_id);
  if (event.robot_id !== app.robotId || kind === 'watch') return;
  if (event.ack.ok) $('#robot-status').textContent = t('cmd_ok', { command: t(kind) });
  else $('#robot-error').textContent = t('cmd_refused_robot', { command: t(kind), error: event.ack.error || '?' });
}

async function say(event) {
  event.preventDefault();
  const text = $('#say-text').value.trim();
  if (!text) return;
  const language = $('#say-lang').value || null;
  if (await command('say', { text, language })) $('#say-text').value = '';
}

// -- alerts ------------------------------------------------------------------------------------------------
function renderAlerts() {
  const body = clear($('#alerts'));
  const rows = [...app.alerts.values()].sort((a, b) => (b.state === 'escalated') - (a.state === 'escalated')
    || b.raised_at - a.raised_at);
  for (const alert of rows) {
    const input = el('input', { 'aria-label': t('assignee_label'), placeholder: t('assignee_placeholder'),
      maxlength: 64, value: alert.assignee || '' });
    body.append(el('tr', { class: alert.state, 'data-alert': alert.id, 'data-robot': alert.robot },
      el('td', { text: timeOf(alert.raised_at) }),
      el('td', {}, el('a', { href: `#/robot/${encodeURIComponent(alert.robot)}`, text: alert.robot })),
      el('td', { text: t(`alert_${alert.type}`) }),
      el('td', { text: alert.language ? languageName(alert.language) : '' }),
      el('td', { class: 'detail', text: alert.detail || '' }),
      el('td', { class: 'state', text: t(`state_${alert.state}`) }),
      el('td', { text: alert.assignee || '' }),
      el('td', {},
        alert.state === 'acknowledged' ? null : el('button', { type: 'button', class: 'ack', text: t('acknowledge'),
          onclick: () => acknowledge(alert) }),
        el('form', { class: 'assign', onsubmit: (e) => { e.preventDefault(); assign(alert, input.value.trim()); } },
          input, el('button', { type: 'submit', text: t('assign') })))));
  }
  $('#alerts-empty').hidden = rows.length > 0;
}

async function acknowledge(alert) {
  $('#alerts-error').textContent = '';
  try {
    await api('POST', `/api/alerts/${encodeURIComponent(alert.robot)}/${encodeURIComponent(alert.id)}/ack`);
    $('#alerts-status').textContent = t('alert_acknowledged');
  } catch (exc) { $('#alerts-error').textContent = refusal(exc); }
}

async function assign(alert, who) {
  $('#alerts-error').textContent = '';
  if (!who) return;
  try {
    await api('POST', `/api/alerts/${encodeURIComponent(alert.robot)}/${encodeURIComponent(alert.id)}/assign`,
      { assignee: who });
    $('#alerts-status').textContent = t('alert_assigned', { who });
  } catch (exc) { $('#alerts-error').textContent = refusal(exc); }
}

// -- analytics ---------------------------------------------------------------------------------------------
const PALETTE = ['#0b57d0', '#b3261e', '#137333', '#8a5a00', '#6f2da8', '#00796b', '#c2185b', '#455a64',
  '#e65100', '#1a237e'];

async function loadAnalytics() {
  $('#analytics-error').textContent = '';
  try {
    app.analytics = await api('GET', '/api/analytics');
  } catch (exc) {
    $('#analytics-error').textContent = refusal(exc);
    return;
  }
  renderAnalytics();
}

function renderAnalytics() {
  const data = app.analytics;
  if (!data) return;
  drawChart(data);
  const langs = clear($('#an-languages'));
  const total = Object.values(data.languages).reduce((a, b) => a + b, 0);
  for (const [code, n] of Object.entries(data.languages).sort((a, b) => b[1] - a[1])) {
    langs.append(el('tr', {}, el('th', { scope: 'row', lang: code, text: languageName(code) }),
      el('td', { text: String(n) }), el('td', {}, el('meter', { min: 0, max: total, value: n, 'aria-label': code }))));
  }
  if (!total) langs.append(el('tr', {}, el('td', { class: 'note', text: t('an_empty') })));
  const lat = clear($('#an-latency'));
  if (!data.latency_ms.count) lat.append(el('dd', { class: 'note', text: t('an_latency_none') }));
  else {
    for (const p of ['p50', 'p90', 'p99']) {
      const value = data.latency_ms[p];
      lat.append(el('dt', { text: p }), el('dd', { 'data-p': p,
        text: t(data.latency_ms[`${p}_over`] ? 'an_ms_over' : 'an_ms', { v: value }) }));
    }
    lat.append(el('dt', { text: '' }), el('dd', { class: 'note', text: t('an_answers', { n: data.latency_ms.count }) }));
  }
  const unanswered = clear($('#an-unanswered'));
  for (const q of data.unanswered) {
    unanswered.append(el('li', {}, el('span', { lang: q.language || null, text: q.text }),
      el('span', { class: 'meta', text: ` ${q.language ? `[${q.language}] ` : ''}${t('an_count', { n: q.count })}` })));
  }
  if (!data.unanswered.length) unanswered.append(el('li', { class: 'note', text: t('an_empty') }));
}

function drawChart(data) {
  const metric = $('#an-metric').value;
  const byEntrance = $('#an-group').value === 'entrance';
  const rows = byEntrance ? data.by_entrance : data.hours;
  // Every hour of the window, zero where nothing was counted (uPlot would stretch one lone hour over years).
  const first = Math.floor(data.since / 3600) * 3600;
  const last = Math.min(data.until, Math.max(Date.now() / 1000, ...rows.map((r) => r.hour)));
  const hours = [];
  for (let hour = first; hour <= last && rows.length; hour += 3600) hours.push(hour);
  const groups = [...new Set(rows.map((r) => (byEntrance ? r.entrance : r.robot) ?? ''))].sort();
  const target = clear($('#an-chart'));
  if (app.chart) { app.chart.destroy(); app.chart = null; }
  $('#an-chart-empty').hidden = hours.length > 0;
  if (!hours.length || !window.uPlot) return;
  const index = new Map(hours.map((h, i) => [h, i]));
  const series = groups.map(() => hours.map(() => 0));
  for (const row of rows) {
    const at = index.get(row.hour);
    if (at !== undefined) series[groups.indexOf((byEntrance ? row.entrance : row.robot) ?? '')][at] += row[metric];
  }
  const width = Math.max(320, target.clientWidth || 900);
  app.chart = new window.uPlot({
    width, height: 280,
    scales: { x: { time: true } },
    series: [{}, ...groups.map((g, i) => ({ label: g || t('no_entrance'), stroke: PALETTE[i % PALETTE.length],
      width: 2, points: { show: true } }))],
    axes: [{}, { label: t(`an_${metric}`) }],
  }, [hours, ...series], target);
}

// -- audit -------------------------------------------------------------------------------------------------
async function loadAudit(fresh) {
  $('#audit-error').textContent = '';
  if (!app.me?.permissions.includes('audit')) {
    clear($('#audit'));
    $('#audit-error').textContent = t('audit_forbidden');
    return;
  }
  if (fresh) { app.auditBefore = null; clear($('#audit')); }
  const query = new URLSearchParams({ limit: '100' });
  for (const name of ['robot', 'actor', 'action']) {
    const value = $(`#audit-${name}`).value.trim();
    if (value) query.set(name, value);
  }
  if (app.auditBefore) query.set('before_id', String(app.auditBefore));
  try {
    const { entries } = await api('GET', `/api/audit?${query}`);
    const body = $('#audit');
    for (const entry of entries) {
      body.append(el('tr', { class: entry.result?.startsWith('refused') ? 'refused' : '' },
        el('td', { text: `${new Date(entry.at * 1000).toLocaleDateString(app.lang === 'zh' ? 'zh-CN' : 'en-GB')} ${timeOf(entry.at)}` }),
        el('td', { text: entry.actor }), el('td', { text: entry.action }), el('td', { text: entry.robot || '' }),
        el('td', { class: 'detail', text: entry.detail && Object.keys(entry.detail).length ? JSON.stringify(entry.detail) : '' }),
        el('td', { text: entry.result || '' }), el('td', { text: entry.client || '' })));
      app.auditBefore = entry.id;
    }
    $('#audit-more').hidden = entries.length < 100;
  } catch (exc) { $('#audit-error').textContent = refusal(exc); }
}

// -- wiring ------------------------------------------------------------------------------------------------
function bindStatic() {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', logout);
  $('#ui-lang').addEventListener('change', (e) => {
    app.lang = e.target.value;
    localStorage.setItem('caexpo_console.lang', app.lang);
    applyStrings(); renderWho(); fillSayLanguages();
    if (app.me) { renderFleet(); renderAlerts(); if (app.robotId) { renderRobot(); rerenderTranscript(); } }
    if (app.view === 'analytics') renderAnalytics();
    if (app.stream) linkState(app.stream.readyState === EventSource.OPEN);
  });
  $('#btn-take').addEventListener('click', () => command('take_over'));
  $('#btn-hand').addEventListener('click', () => command('hand_back'));
  $('#btn-force').addEventListener('click', () => command('hand_back', { force: true }));
  $('#btn-pause').addEventListener('click', () => command('pause_greeting'));
  $('#btn-resume').addEventListener('click', () => command('resume_greeting'));
  $('#btn-stop').addEventListener('click', () => command('stop_speech'));
  $('#say-form').addEventListener('submit', say);
  $('#say-lang').addEventListener('change', () => { app.sayLangTouched = true; renderQuick(); });
  $('#an-refresh').addEventListener('click', loadAnalytics);
  $('#an-metric').addEventListener('change', renderAnalytics);
  $('#an-group').addEventListener('change', renderAnalytics);
  $('#audit-form').addEventListener('submit', (e) => { e.preventDefault(); loadAudit(true); });
  $('#audit-more').addEventListener('click', () => loadAudit(false));
  window.addEventListener('hashchange', route);
  // Closing the tab ends the stream, and the server then stops this session's watches; pagehide says it sooner.
  window.addEventListener('pagehide', () => {
    if (app.watching && app.me) {
      fetch(`/api/robots/${encodeURIComponent(app.watching)}/commands`, { method: 'POST', keepalive: true,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': app.me.csrf },
        body: JSON.stringify({ kind: 'watch', watching: false }) });
    }
  });
}

async function rerenderTranscript() {
  // Side names are interface strings: redraw the lines from the console's ring in the new language.
  if (!app.robotId) return;
  try {
    const { lines } = await api('GET', `/api/robots/${encodeURIComponent(app.robotId)}/transcript`);
    clear($('#transcript'));
    for (const line of lines) addLine(line);
  } catch { /* keep the old lines */ }
}

// Test hook (read-only): the state the page shows, for the browser tests' layout checks.
window.caexpoConsole = { get robots() { return app.robots.size; }, get view() { return app.view; } };

start();
