// Herald's live dashboard. The page holds no data: it reads Herald's admin SSE
// feed (/dashboard/stream) with fetch and an Authorization header, so the admin
// token — taken from the URL fragment, which browsers never send — never
// appears in a URL that a server or proxy could log.
/* global Chart */

const TOKEN_KEY = 'herald.adminToken';
const MAX_POINTS = 180;
const REFUSE_COLORS = ['#f85149', '#a371f7', '#d29922', '#db61a2', '#8b95a3', '#58a6ff', '#3fb950'];

const $ = (id) => document.getElementById(id);

// ---------- token ----------

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromFragment = fragment.get('token');
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    // Out of the address bar, history and bookmarks; the tab keeps it for reloads.
    history.replaceState(null, '', location.pathname + location.search);
    return fromFragment;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function askForToken(message) {
  setState('unauthorized', 'admin token needed');
  $('token-message').textContent = message;
  $('token-form').hidden = false;
  $('token-input').focus();
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token-input').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-form').hidden = true;
  connect(token);
});

// ---------- formatting ----------

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatNumber(value, digits = 0) {
  return Number(value).toLocaleString('en-US', { maximumFractionDigits: digits });
}

function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const clock = (at) => new Date(at).toLocaleTimeString('en-GB', { hour12: false });

function setState(state, text) {
  $('feed-state').dataset.state = state;
  $('feed-state').textContent = text;
}

// ---------- charts ----------

Chart.defaults.color = '#8b95a3';
Chart.defaults.borderColor = '#2a323c';
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

function lineChart(id, datasets, options = {}) {
  return new Chart($(id), {
    type: 'line',
    data: {
      labels: [],
      datasets: datasets.map(([label, color]) => ({
        label,
        data: [],
        borderColor: color,
        backgroundColor: color,
        pointRadius: 0,
        borderWidth: 2,
        tension: 0.2,
      })),
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true, ...options.y } },
    },
  });
}

const charts = {
  connections: lineChart('chart-connections', [['active streams', '#58a6ff']]),
  memory: lineChart('chart-memory', [
    ['heap used', '#3fb950'],
    ['rss', '#d29922'],
  ]),
  throughput: lineChart('chart-throughput', [
    ['deliveries/s', '#58a6ff'],
    ['events published/s', '#a371f7'],
  ]),
  latency: lineChart('chart-latency', [
    ['delivery p99', '#f85149'],
    ['delivery p50', '#d29922'],
    ['event loop p99', '#8b95a3'],
  ]),
  // One dataset per refusal reason, named by the data (Herald's reasons, not a copy of them).
  refusals: new Chart($('chart-refusals'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      scales: { x: { stacked: true, ticks: { maxTicksLimit: 6 } }, y: { stacked: true, beginAtZero: true } },
    },
  }),
};
// Exposed for tests and the browser console.
window.heraldCharts = charts;

const MB = 1_048_576;
const SERIES = {
  connections: [(p) => p.active],
  memory: [(p) => p.heapUsed / MB, (p) => p.rss / MB],
  throughput: [(p) => p.deliveriesPerSecond, (p) => p.messagesPerSecond],
  latency: [(p) => p.latencyP99Ms, (p) => p.latencyP50Ms, (p) => p.eventLoopP99Ms],
  refusals: [],
};

function ensureRefusalSeries(point) {
  const chart = charts.refusals;
  if (chart.data.datasets.length > 0) return;
  Object.keys(point.refused).forEach((reason, i) => {
    chart.data.datasets.push({ label: reason, data: [], backgroundColor: REFUSE_COLORS[i % REFUSE_COLORS.length] });
    SERIES.refusals.push((p) => p.refused[reason] ?? 0);
  });
}

let lastPointAt = 0;

function addPoint(point, redraw) {
  if (!point || point.at <= lastPointAt) return;
  lastPointAt = point.at;
  ensureRefusalSeries(point);
  for (const [name, chart] of Object.entries(charts)) {
    chart.data.labels.push(clock(point.at));
    SERIES[name].forEach((read, i) => chart.data.datasets[i].data.push(read(point)));
    if (chart.data.labels.length > MAX_POINTS) {
      chart.data.labels.shift();
      for (const dataset of chart.data.datasets) dataset.data.shift();
    }
    if (redraw) chart.update('none');
  }
}

function resetCharts() {
  lastPointAt = 0;
  for (const chart of Object.values(charts)) {
    chart.data.labels.length = 0;
    for (const dataset of chart.data.datasets) dataset.data.length = 0;
  }
}

// ---------- panels ----------

function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  for (const cell of cells) {
    const td = document.createElement('td');
    td.textContent = String(cell);
    tr.append(td);
  }
  return tr;
}

function fillTable(id, rows) {
  $(id)
    .querySelector('tbody')
    .replaceChildren(...rows);
  const empty = $(`${id}-empty`);
  if (empty) empty.hidden = rows.length > 0;
}

function renderAlerts(active, recent) {
  fillTable(
    'active-alerts',
    active.map((alert) =>
      row(
        [alert.severity, alert.name, formatNumber(alert.value, 3), clock(alert.startedAt)],
        `severity-${alert.severity}`,
      ),
    ),
  );
  const items = recent.map((entry) => {
    const li = document.createElement('li');
    const rule = entry.rule?.name ?? entry.name ?? entry.ruleId ?? 'rule';
    const status = entry.status ?? 'event';
    const at = entry.resolvedAt ?? entry.at ?? entry.startedAt;
    const value = entry.value === undefined ? '' : ` = ${formatNumber(entry.value, 3)}`;
    li.textContent = `${at ? clock(at) : ''} ${status} · ${rule}${entry.severity ? ` (${entry.severity})` : ''}${value}`;
    if (entry.severity) li.className = `severity-${entry.severity}`;
    return li;
  });
  $('recent-alerts').replaceChildren(...items);
  $('recent-alerts-empty').hidden = items.length > 0;
}

function renderStatus(status) {
  const { connections, memory, throughput } = status;
  $('updated-at').textContent = clock(status.at);
  $('uptime').textContent = formatDuration(status.uptimeSeconds * 1000);
  $('active-connections').textContent = formatNumber(connections.active);
  $('capacity').textContent = `${formatNumber(connections.capacityRatio * 100, 1)} %`;
  $('opened-per-minute').textContent = formatNumber(connections.perMinute);
  $('opened-total').textContent = formatNumber(connections.total);
  $('average-duration').textContent = formatDuration(connections.averageDurationMs);
  $('heap-used').textContent = formatBytes(memory.latest.heapUsed);
  $('rss').textContent = formatBytes(memory.latest.rss);
  // Below 100 streams the estimate is mostly heap noise (Herald gives no streamCost then).
  const cost = memory.streamCost;
  $('bytes-per-connection').textContent = cost ? formatBytes(cost.bytes) : '—';
  $('bytes-per-connection-spread').textContent = cost
    ? `${formatBytes(cost.low)}–${formatBytes(cost.high)} over ${formatNumber(cost.streams)} streams`
    : 'needs ≥ 100 streams';
  $('messages-per-second').textContent = formatNumber(throughput.messagesPerSecond, 1);
  $('deliveries-per-second').textContent = formatNumber(throughput.deliveriesPerSecond, 1);
  $('bytes-per-second').textContent = formatBytes(throughput.bytesPerSecond);
  $('latency-p99').textContent = `${formatNumber(throughput.deliveryLatencyMs.p99, 2)} ms`;
  $('event-loop-p99').textContent = `${formatNumber(throughput.eventLoopDelayMs.p99, 2)} ms`;
  $('history-events').textContent = formatNumber(throughput.historyEvents);

  const leak = memory.leak;
  const windowText = formatDuration(leak.windowMs);
  const verdict = $('leak-verdict');
  verdict.dataset.suspected = String(leak.suspected);
  const growth = `${formatNumber(leak.slopeMbPerMinute, 2)} MB/min the load does not explain, over ${windowText}`;
  verdict.textContent = leak.suspected
    ? `LEAK SUSPECTED — heap floor growing ${growth} (confidence ${formatNumber(leak.confidence * 100)} %)`
    : leak.phase === 'warm-up'
      ? `warming up — not judged during the first ${windowText}; heap ${formatBytes(memory.trend.min)}–${formatBytes(memory.trend.max)}`
      : `${leak.phase === 'growing' ? 'growing, watching' : 'no leak'} — ${growth} (fit ${formatNumber(leak.fit, 2)}); heap ${formatBytes(memory.trend.min)}–${formatBytes(memory.trend.max)}`;

  const counts = [
    ...Object.entries(connections.closedByReason).map(([reason, count]) => [`closed: ${reason}`, count]),
    ...Object.entries(connections.refusedByReason).map(([reason, count]) => [`refused: ${reason}`, count]),
  ]
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1]);
  $('reasons').replaceChildren(
    ...counts.flatMap(([name, count]) => {
      const term = document.createElement('dt');
      term.textContent = name;
      const value = document.createElement('dd');
      value.textContent = formatNumber(count);
      return [term, value];
    }),
  );
  $('reasons-empty').hidden = counts.length > 0;
  fillTable(
    'per-ip',
    Object.entries(connections.perIp).map(([ip, count]) => row([ip, count])),
  );
}

// ---------- the feed ----------

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let fieldValue = colon === -1 ? '' : line.slice(colon + 1);
        if (fieldValue.startsWith(' ')) fieldValue = fieldValue.slice(1);
        if (field === 'event') event = fieldValue;
        else if (field === 'data') data.push(fieldValue);
      }
      if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}

function onEvent(event, data) {
  if (event === 'history') {
    resetCharts();
    for (const point of data.points) addPoint(point, false);
    for (const chart of Object.values(charts)) chart.update('none');
  } else if (event === 'snapshot') {
    renderStatus(data.status);
    renderAlerts(data.status.alerts.active, data.recentAlerts);
    addPoint(data.point, true);
  }
}

let retryMs = 1000;

async function connect(token) {
  setState('connecting', 'connecting…');
  try {
    const response = await fetch('/dashboard/stream', {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
      cache: 'no-store',
    });
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken('Herald refused that admin token (401). Enter the ADMIN_TOKEN.');
      return;
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    setState('live', 'live');
    retryMs = 1000;
    await readEvents(response.body, onEvent);
  } catch (error) {
    console.warn('dashboard feed:', error);
  }
  setState('reconnecting', `reconnecting in ${Math.round(retryMs / 1000)} s`);
  setTimeout(() => connect(token), retryMs);
  retryMs = Math.min(retryMs * 2, 30_000);
}

const token = takeToken();
if (token) connect(token);
else askForToken('This page needs the admin token (it is never sent in a URL).');
