/**
 * The dashboard's browser script, served at `/app.js`. Plain ES2017, no
 * dependencies. Every value from the store reaches the page as a text node
 * (`h()` never parses HTML). It polls the JSON API every `data-refresh-ms`
 * and redraws only the data regions, so a half-typed event stays typed.
 *
 * @example
 * ```ts
 * res.end(PAGE_SCRIPT);
 * ```
 */
export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var REFRESH_MS = Number(document.body.getAttribute('data-refresh-ms')) || 1000;
var STATUSES = ['queued', 'running', 'waiting', 'compensating', 'completed', 'compensated', 'failed', 'cancelled'];
var FINAL = ['completed', 'compensated', 'cancelled'];
var app = document.getElementById('app');
var live = document.getElementById('live');
var ui = { filters: {}, q: '', route: null, regions: null, timer: null, confirming: null };

function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
  return el;
}
function add(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
  el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
}
function fill(el, content) { while (el.firstChild) el.removeChild(el.firstChild); add(el, content); }
function time(ms) { return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'; }
function pretty(v) { try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); } }
function badge(status) { return h('span', { class: 'badge ' + status, 'data-status': status, text: status }); }
function api(path, options) {
  var init = options || {};
  return fetch(path, init).then(function (res) {
    return res.json().then(function (body) {
      if (!res.ok) { var e = new Error(body && body.error ? body.error : 'request failed (' + res.status + ')'); e.status = res.status; throw e; }
      return body;
    });
  });
}

function route() {
  var m = /^#\/saga\/(.+)$/.exec(location.hash);
  if (!m) return { page: 'list' };
  // A hand-edited address may hold a bad escape: show the list rather than a page stuck on "Loading…".
  try { return { page: 'saga', id: decodeURIComponent(m[1]) }; } catch (e) { return { page: 'list' }; }
}

function start() {
  ui.route = route();
  ui.confirming = null;
  if (ui.route.page === 'list') buildList(); else buildSaga(ui.route.id);
  refresh();
}

function schedule() {
  clearTimeout(ui.timer);
  ui.timer = setTimeout(refresh, REFRESH_MS);
}

function refresh() {
  var current = ui.route;
  var load = current.page === 'list' ? loadList() : loadSaga(current.id);
  load.then(function () { live.className = 'live'; live.textContent = 'live · ' + new Date().toLocaleTimeString(); },
    function (e) { live.className = 'live stale'; live.textContent = 'cannot refresh: ' + e.message; })
    .then(function () { if (ui.route === current) schedule(); });
}

// ---- the list of sagas ----
function buildList() {
  var filters = h('div', { class: 'filters', 'data-region': 'filters' });
  var search = h('input', { type: 'search', placeholder: 'search by id', 'aria-label': 'search by id', value: ui.q,
    oninput: function () { ui.q = search.value; refresh(); } });
  var rows = h('tbody');
  var total = h('p', { class: 'muted' });
  ui.regions = { filters: filters, rows: rows, total: total };
  fill(app, [h('h1', { text: 'Sagas' }), h('div', { class: 'card' }, h('div', { class: 'filters' }, filters, search)),
    h('table', { 'data-region': 'sagas' }, h('thead', null, h('tr', null, ['id', 'saga', 'version', 'status', 'state', 'due', 'updated'].map(function (c) { return h('th', { text: c }); }))), rows),
    total]);
}

function listQuery(on) { return '?status=' + encodeURIComponent(on.join(',')) + '&q=' + encodeURIComponent(ui.q); }
function loadList() {
  var on = STATUSES.filter(function (s) { return ui.filters[s]; });
  var query = listQuery(on);
  return api('/api/sagas' + query).then(function (data) {
    if (ui.route.page !== 'list') return;
    // The answer to a filter or search the user has changed since is not drawn: the newer one is on its way.
    if (query !== listQuery(STATUSES.filter(function (s) { return ui.filters[s]; }))) return;
    fill(ui.regions.filters, [h('button', { class: on.length ? '' : 'on', onclick: function () { ui.filters = {}; refresh(); } }, 'all')].concat(
      STATUSES.map(function (s) {
        return h('button', { class: ui.filters[s] ? 'on' : '', 'data-filter': s, onclick: function () { ui.filters[s] = !ui.filters[s]; refresh(); } },
          s + ' ', h('b', { 'data-count': s, text: data.counts[s] }));
      })));
    fill(ui.regions.rows, data.sagas.map(function (s) {
      return h('tr', { 'data-id': s.id },
        h('td', { class: 'id' }, h('a', { href: '#/saga/' + encodeURIComponent(s.id), text: s.id })),
        h('td', { text: s.sagaName }), h('td', { class: 'mono', text: s.version }), h('td', null, badge(s.status)),
        h('td', { class: 'mono', text: s.state === null ? '(unreadable snapshot)' : s.state }), h('td', { text: time(s.dueAt) }), h('td', { text: time(s.updatedAt) }));
    }));
    fill(ui.regions.total, data.total === 0 ? 'No sagas match.' : data.total + ' saga' + (data.total === 1 ? '' : 's'));
  });
}

// ---- one saga ----
function buildSaga(id) {
  var r = { head: h('div'), facts: h('div', { class: 'card' }), notice: h('div'), confirm: h('div'), chart: h('div', { class: 'card chart', 'data-region': 'chart' }),
    data: h('div', { class: 'cols' }), pending: h('div'), timeline: h('div') };
  var eventName = h('input', { placeholder: 'event name', 'aria-label': 'event name' });
  var eventPayload = h('textarea', { placeholder: 'payload (JSON)', 'aria-label': 'event payload' });
  r.buttons = {
    cancel: h('button', { class: 'danger', 'data-action': 'cancel', onclick: function () { ask(id, { command: 'cancel' }, 'Cancel saga "' + id + '"? Its running step is aborted and every completed step is compensated.'); } }, 'Cancel saga'),
    retry: h('button', { 'data-action': 'retry', onclick: function () { ask(id, { command: 'retry' }, 'Retry the compensation of saga "' + id + '"? Do this once the cause of the failure is fixed.'); } }, 'Retry compensation'),
    event: h('button', { 'data-action': 'event', onclick: function () {
      var payload = null;
      if (eventPayload.value.trim()) {
        try { payload = JSON.parse(eventPayload.value); } catch (e) { return notice('The payload is not JSON: ' + e.message, true); }
      }
      if (!eventName.value.trim()) return notice('Type the name of the event the saga waits for.', true);
      ask(id, { command: 'event', name: eventName.value.trim(), payload: payload }, 'Send the event "' + eventName.value.trim() + '" to saga "' + id + '"?');
    } }, 'Send event'),
  };
  ui.regions = r;
  fill(app, [h('p', null, h('a', { href: '#/', text: '← all sagas' })), r.head, r.facts,
    h('div', { class: 'card' }, h('div', { class: 'actions' }, r.buttons.cancel, r.buttons.retry, h('span', { class: 'event-form' }, eventName, eventPayload, r.buttons.event)), r.confirm, r.notice),
    h('h2', { text: 'Statechart' }), r.chart, r.data, r.pending, h('h2', { text: 'Timeline' }), r.timeline]);
}

function notice(text, isError) {
  fill(ui.regions.notice, h('div', { class: 'notice' + (isError ? ' error' : ''), role: 'status', text: text }));
}

function ask(id, command, question) {
  var box = ui.regions.confirm;
  fill(box, h('div', { class: 'confirm', role: 'dialog', 'aria-label': 'confirm' }, h('p', { text: question }),
    h('button', { class: 'danger', 'data-confirm': 'yes', onclick: function () {
      fill(box, null);
      api('/api/sagas/' + encodeURIComponent(id) + '/commands', { method: 'POST', headers: { 'content-type': 'application/json', 'x-orsa-dashboard': '1' }, body: JSON.stringify(command) })
        .then(function (res) { notice(res.message, false); refresh(); }, function (e) { notice(e.message, true); });
    } }, 'Confirm'), ' ',
    h('button', { 'data-confirm': 'no', onclick: function () { fill(box, null); } }, 'Back')));
}

function loadSaga(id) {
  return api('/api/sagas/' + encodeURIComponent(id)).then(function (d) {
    if (ui.route.page !== 'saga' || ui.route.id !== id) return;
    var r = ui.regions, rec = d.record;
    fill(r.head, [h('h1', { 'data-region': 'title', text: rec.id }), h('p', null, badge(rec.status), ' ', h('span', { class: 'mono', text: rec.sagaName + ' · version ' + rec.version }))]);
    fill(r.facts, h('dl', { class: 'facts' }, fact('state', d.state === null ? '(the stored snapshot cannot be read)' : d.state), fact('created', time(rec.createdAt)),
      fact('updated', time(rec.updatedAt)), fact('due', time(rec.dueAt)), fact('owner', rec.owner ? rec.owner + ' until ' + time(rec.leaseUntil) : '-')));
    var ended = FINAL.indexOf(rec.status) >= 0;
    r.buttons.cancel.disabled = ended || rec.status === 'failed' || rec.status === 'compensating';
    r.buttons.retry.disabled = rec.status !== 'failed';
    r.buttons.event.disabled = ended;
    fill(r.chart, chart(d));
    fill(r.data, [
      h('div', { class: 'card' }, h('h2', { text: 'Input' }), h('pre', { 'data-region': 'input', text: pretty(d.input) })),
      h('div', { class: 'card' }, h('h2', { text: 'Results' }), Object.keys(d.results).length ? h('pre', { 'data-region': 'results', text: pretty(d.results) }) : h('p', { class: 'muted', text: 'No step has completed.' })),
      d.failure || d.compError ? h('div', { class: 'card', 'data-region': 'errors' }, h('h2', { text: 'Errors' }),
        d.failure ? h('p', null, d.failure.step === null ? 'Saga: ' : ['Failed step ', h('b', { text: d.failure.step }), ': '], h('span', { text: d.failure.error ? d.failure.error.message : '' })) : null,
        d.compError ? h('p', null, 'Compensation error: ', h('span', { text: d.compError.message })) : null) : null,
    ]);
    fill(r.pending, d.pending.length ? [h('h2', { text: 'Pending events' }), h('table', { 'data-region': 'pending' }, h('tbody', null, d.pending.map(function (e) {
      return h('tr', null, h('td', { text: '#' + e.seq }), h('td', { class: 'mono', text: e.name }), h('td', { class: 'mono', text: e.payload }), h('td', { text: time(e.at) }));
    })))] : null);
    fill(r.timeline, h('table', { 'data-region': 'timeline' }, h('thead', null, h('tr', null, ['+ms', 'event', 'step', 'attempt', 'detail'].map(function (c) { return h('th', { text: c }); }))),
      h('tbody', null, d.timeline.map(function (e) {
        var failure = /failed|retrying|not-ready/.test(e.type);
        return h('tr', { class: e.takeover ? 'takeover' : failure ? 'failure' : '' }, h('td', { text: '+' + e.offsetMs }), h('td', { class: 'mono', text: e.takeover ? 'takeover' : e.type }),
          h('td', { text: e.step || '' }), h('td', { text: e.attempt || '' }), h('td', { text: e.detail }));
      }))));
  });
}

function fact(label, value) { return [h('dt', { text: label }), h('dd', { class: 'mono', text: value })]; }

// ---- the statechart, drawn as boxes ----
function currentNames(value, active) {
  var names = {};
  (function walk(v) {
    if (typeof v === 'string') names[v] = true;
    else if (v && typeof v === 'object') for (var k in v) { names[k] = true; walk(v[k]); }
  })(value);
  for (var k in active) names[k] = true;
  return names;
}

function chart(d) {
  var current = currentNames(d.value, d.active);
  var rollingBack = !!current.rollback;
  function node(n) {
    if (n.kind === 'parallel') {
      return h('div', { class: 'parallel' + (current[n.name] ? ' current' : ''), 'data-step': n.name }, h('div', { class: 'title', text: 'parallel ' + n.name }),
        h('div', { class: 'branches' }, n.branches.map(function (b) { return h('div', { class: 'flow branch' }, h('div', { class: 'title', text: b.name }), seq(b.nodes)); })));
    }
    var visits = d.visits[n.name] || 0, fails = d.failures[n.name] || 0;
    var kind = n.kind === 'wait' ? 'waits for ' + (n.event || 'an event') : n.kind === 'sleep' ? 'sleeps ' + (n.ms ? n.ms + ' ms' : '') :
      n.kind === 'readiness' ? 'readiness checks' : n.maxAttempts ? 'step · up to ' + n.maxAttempts + ' attempts' : 'step';
    var classes = 'node ' + n.kind + (current[n.name] && !rollingBack ? ' current' : '') + (visits ? ' visited' : '') + (d.failure && d.failure.step === n.name ? ' failedstep' : '');
    return h('div', { class: classes, 'data-step': n.name },
      h('div', { class: 'name', text: n.name }), h('div', { class: 'kind', text: kind }),
      h('div', { class: 'counts' }, h('span', { 'data-visits': n.name, text: 'visits ' + visits }), fails ? h('span', { class: 'fails', 'data-failures': n.name, text: 'failures ' + fails }) : null),
      n.compensable ? h('div', { class: 'comp', text: '↩ has compensation' }) : null,
      n.gotos ? h('div', { class: 'kind', text: 'may go to ' + n.gotos.join(', ') }) : null);
  }
  function seq(nodes) {
    var out = [];
    nodes.forEach(function (n, i) { if (i) out.push(h('div', { class: 'arrow', text: '↓' })); out.push(node(n)); });
    return out;
  }
  var status = d.record.status;
  var finals = ['completed', 'compensated', 'failed', 'cancelled'].map(function (s) {
    return h('div', { class: 'final ' + s + (status === s ? ' current' : ''), 'data-final': s, text: s });
  });
  if (rollingBack) finals.unshift(h('div', { class: 'final rollback current', text: 'compensating' }));
  return [h('div', { class: 'flow' }, seq(d.chart.nodes)), h('div', { class: 'finals' }, h('div', { class: 'muted', text: 'ends' }), finals),
    h('p', { class: 'muted' }, d.chart.source === 'definition' ? 'Drawn from the definition (version ' + d.chartVersion + ').' : 'Drawn from the stored history: start the dashboard with --sagas to draw the full chart.')];
}

window.addEventListener('hashchange', start);
start();
})();
`;
