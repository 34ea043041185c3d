// Turns one run's figures into bench/results/<mode>.{md,json} and SVG charts,
// and returns the summary table for the terminal.
import { writeFileIn } from './servers.mjs';
import { svgChart } from './svg-chart.mjs';

const COLORS = {
  herald: '#d9480f',
  'naive-nest': '#868e96',
  'better-sse': '#1c7ed6',
  express: '#ae3ec9',
  'hand-tuned': '#2b8a3e',
};

const kb = (value) => (value === null || value === undefined ? '–' : `${value.toFixed(1)} KB`);
const ms = (value) =>
  value === null || value === undefined ? '–' : value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
const pct = (value) => `${value.toFixed(0)} %`;
const us = (value) => (value === null || value === undefined ? '–' : `${value.toFixed(1)} µs`);

/** A step's p99; a late step only has a lower bound. */
export function p99Text(step) {
  return step.late ? '> 1 s' : ms(step.p99Ms);
}

/** Why a step did not hold, in a few words ('held' when it did). */
export function verdict(step) {
  if (step.held) return 'held';
  if (step.error) return step.error;
  if (!step.alive) return 'server died';
  if (step.closedByServer > 0) return `${step.closedByServer} streams dropped`;
  if (step.late)
    return `late: ${((100 * step.missing) / step.expected).toFixed(0)} % not there 1 s after the last publish`;
  if (step.lost > 0) return `lost ${step.lost}`;
  if (step.accepted < step.published) return `${step.published - step.accepted} publishes refused`;
  if (step.p99Ms > 1000) return `p99 ${ms(step.p99Ms)}`;
  return `offered only ${rate(step.offeredPerSecond)}`;
}

function rate(value) {
  if (value === null || value === undefined) return '–';
  return value >= 1000 ? `${(value / 1000).toFixed(value >= 100_000 ? 0 : 1)}k/s` : `${value}/s`;
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function idleAt(result, streams) {
  return result.idle?.rows.find((row) => row.target === streams) ?? null;
}

function idleMax(result) {
  return result.idle?.rows.at(-1) ?? null;
}

function fanoutFor(result, subscribers) {
  return result.fanout.find((f) => f.subscribers === subscribers) ?? null;
}

function heldText(fanout) {
  if (!fanout) return '–';
  const first = fanout.steps[0]?.deliveriesPerSecond;
  const held = fanout.held ? rate(fanout.held.deliveriesPerSecond) : `< ${rate(first)}`;
  if (!fanout.broke) return `≥ ${held} / none up to the top rate`;
  return `${held} / ${rate(fanout.broke.deliveriesPerSecond)} (${verdict(fanout.broke)})`;
}

function summary(results) {
  const entries = Object.entries(results.servers);
  const subscriberCounts = [...new Set(entries.flatMap(([, r]) => r.fanout.map((f) => f.subscribers)))];
  const idleCounts = [...new Set(entries.flatMap(([, r]) => r.idle.rows.map((row) => row.target)))];
  // Only the full run measures at half the held rate.
  const withHalf = entries.some(([, r]) => r.fanout.some((f) => f.half !== undefined));
  const header = ['server'];
  for (const count of idleCounts) header.push(`idle RSS/stream @${count.toLocaleString('en')}`);
  header.push('idle heap/stream (largest)');
  for (const count of subscriberCounts) {
    header.push(`fan-out ${count.toLocaleString('en')} subs: held / first broken`, `p99 @held`);
    if (withHalf) header.push(`p99 @half`);
    header.push(`CPU/delivery @held`);
  }
  const rows = entries.map(([, r]) => {
    const cells = [r.label];
    for (const count of idleCounts) {
      const row = idleAt(r, count);
      cells.push(row ? `${kb(row.rssPerStreamKb)} (${row.streams.toLocaleString('en')})` : '–');
    }
    cells.push(kb(idleMax(r)?.heapPerStreamKb));
    for (const count of subscriberCounts) {
      const fanout = fanoutFor(r, count);
      cells.push(heldText(fanout), ms(fanout?.held?.p99Ms));
      if (withHalf) cells.push(fanout?.half ? p99Text(fanout.half) : '–');
      cells.push(us(fanout?.held?.cpuUsPerDelivery));
    }
    return cells;
  });
  return table(header, rows);
}

function fixedAt(result, subscribers) {
  return result.fixed?.find((step) => step.subscribers === subscribers) ?? null;
}

/** The row whose idle CPU was measured (10,000 streams in the full run). */
function idleCpuRow(result) {
  return result.idle?.rows.find((row) => row.idleCpuMs !== null && row.idleCpuMs !== undefined) ?? null;
}

/** What one stream costs: memory held, CPU to open it, CPU while idle, CPU and latency per delivery. */
function streamCost(results) {
  const entries = Object.entries(results.servers);
  const idleCounts = [...new Set(entries.flatMap(([, r]) => r.idle.rows.map((row) => row.target)))].slice(1);
  const fixedCounts = [...new Set(entries.flatMap(([, r]) => (r.fixed ?? []).map((step) => step.subscribers)))];
  const header = ['server'];
  for (const count of idleCounts) header.push(`RSS/idle stream @${count.toLocaleString('en')}`);
  header.push('server CPU per connect', 'server CPU, idle streams');
  for (const count of fixedCounts) header.push(`µs CPU/delivery, ${count.toLocaleString('en')} subs`);
  const last = fixedCounts.at(-1);
  if (last) header.push(`p99, ${last.toLocaleString('en')} subs`);
  const rows = entries.map(([, r]) => {
    const cells = [r.label];
    for (const count of idleCounts) {
      const row = idleAt(r, count) ?? (count === idleCounts.at(-1) ? idleMax(r) : null);
      cells.push(row ? `${kb(row.rssPerStreamKb)} (${row.streams.toLocaleString('en')})` : '–');
    }
    const cpuRow = idleCpuRow(r);
    cells.push(
      cpuRow?.cpuUsPerConnect ? `${cpuRow.cpuUsPerConnect.toFixed(0)} µs` : '–',
      cpuRow
        ? `${(cpuRow.idleCpuMs / 1000).toFixed(2)} s in ${cpuRow.idleCpuWindowMs / 1000} s (${cpuRow.streams.toLocaleString('en')})`
        : '–',
    );
    for (const count of fixedCounts) cells.push(us(fixedAt(r, count)?.cpuUsPerDelivery));
    if (last) {
      const step = fixedAt(r, last);
      cells.push(step ? p99Text(step) : '–');
    }
    return cells;
  });
  return table(header, rows);
}

/** Issue 13's targets: Herald against hand-tuned node:http in this run. */
function transportTargets(results) {
  const h = results.servers.herald;
  const ref = results.servers['hand-tuned'];
  if (!h || !ref) return null;
  const rows = [];
  const add = (target, needed, measured, ok) => rows.push([target, needed, measured, ok ? 'met' : '**missed**']);
  for (const streams of [10_000, 'max']) {
    const a = streams === 'max' ? idleMax(h) : idleAt(h, streams);
    const b = streams === 'max' ? idleMax(ref) : idleAt(ref, streams);
    if (!a || !b) continue;
    const r = a.rssPerStreamKb / b.rssPerStreamKb;
    add(
      `RSS per idle stream @${a.streams.toLocaleString('en')}`,
      '≤ 1.5× hand-tuned (stretch 1.2×)',
      `${kb(a.rssPerStreamKb)} vs ${kb(b.rssPerStreamKb)} = ${r.toFixed(2)}×`,
      r <= 1.5,
    );
  }
  const hc = idleCpuRow(h);
  const rc = idleCpuRow(ref);
  if (hc && rc) {
    const r = hc.cpuUsPerConnect / rc.cpuUsPerConnect;
    add(
      'server CPU per connect',
      '≤ 2× hand-tuned',
      `${hc.cpuUsPerConnect.toFixed(0)} µs vs ${rc.cpuUsPerConnect.toFixed(0)} µs = ${r.toFixed(2)}×`,
      r <= 2,
    );
    add(
      `CPU while ${hc.streams.toLocaleString('en')} streams sit idle ${hc.idleCpuWindowMs / 1000} s`,
      '≤ 0.1 s beyond hand-tuned',
      `${(hc.idleCpuMs / 1000).toFixed(2)} s vs ${(rc.idleCpuMs / 1000).toFixed(2)} s`,
      hc.idleCpuMs - rc.idleCpuMs <= 100,
    );
  }
  for (const step of h.fixed ?? []) {
    const other = fixedAt(ref, step.subscribers);
    if (!other?.cpuUsPerDelivery || !step.cpuUsPerDelivery) continue;
    const r = step.cpuUsPerDelivery / other.cpuUsPerDelivery;
    const label = `${step.subscribers.toLocaleString('en')} subs @${rate(step.deliveriesPerSecond)}`;
    add(
      `CPU per delivery, ${label}`,
      '≤ 1.1× hand-tuned',
      `${us(step.cpuUsPerDelivery)} vs ${us(other.cpuUsPerDelivery)} = ${r.toFixed(2)}×`,
      r <= 1.1,
    );
    if (step.subscribers >= 10_000 && step.p99Ms && other.p99Ms) {
      const p = step.p99Ms / other.p99Ms;
      add(`p99, ${label}`, '≤ 1.1× hand-tuned', `${p99Text(step)} vs ${p99Text(other)} = ${p.toFixed(2)}×`, p <= 1.1);
    }
  }
  return table(['target', 'needed', 'measured', ''], rows);
}

function ratio(a, b) {
  if (!a || !b) return null;
  return a / b;
}

function targets(results) {
  const s = results.servers;
  if (!s.herald) return null;
  const rows = [];
  const add = (target, needed, measured, ok) =>
    rows.push([
      target,
      needed,
      measured,
      ok === null ? 'not shown' : ok === 'reported' ? 'reported' : ok ? 'met' : '**missed**',
    ]);
  const maxRow = idleMax(s.herald);
  for (const streams of [10_000, maxRow?.target]) {
    const h = streams === maxRow?.target ? maxRow : idleAt(s.herald, streams);
    const ref =
      s['hand-tuned'] && (streams === maxRow?.target ? idleMax(s['hand-tuned']) : idleAt(s['hand-tuned'], streams));
    if (!h || !ref) continue;
    const r = h.rssPerStreamKb / ref.rssPerStreamKb;
    add(
      `idle RSS per stream @${h.streams.toLocaleString('en')}`,
      '≤ 1.2× hand-tuned',
      `${kb(h.rssPerStreamKb)} vs ${kb(ref.rssPerStreamKb)} = ${r.toFixed(2)}×`,
      r <= 1.2,
    );
  }
  for (const fanout of s.herald.fanout) {
    const mine = fanout.held?.deliveriesPerSecond ?? 0;
    for (const [key, factor] of [
      ['hand-tuned', 1],
      ['better-sse', 2],
      ['naive-nest', 5],
    ]) {
      const theirs = s[key] && fanoutFor(s[key], fanout.subscribers);
      if (!theirs) continue;
      const held = theirs.held?.deliveriesPerSecond ?? 0;
      const r = ratio(mine, held);
      add(
        `fan-out ${fanout.subscribers.toLocaleString('en')} subs vs ${s[key].label}`,
        `≥ ${factor}×`,
        `${rate(mine)} vs ${rate(held)} = ${r === null ? '∞' : `${r.toFixed(2)}×`}`,
        r === null ? mine > 0 : r >= factor,
      );
    }
    if (fanout.half) {
      add(
        `p99 at half the held rate, ${fanout.subscribers.toLocaleString('en')} subs`,
        '≤ 100 ms',
        `${p99Text(fanout.half)} @ ${rate(fanout.half.deliveriesPerSecond)}`,
        fanout.half.held && fanout.half.p99Ms <= 100,
      );
    }
  }
  const extra = results.herald;
  if (extra?.storm) {
    const st = extra.storm;
    add(
      `connection storm (${st.attempted.toLocaleString('en')} connects)`,
      `${Math.min(st.attempted, st.admitLimit).toLocaleString('en')} admitted, rest 503/429, no timeout/crash`,
      `${st.admitted.toLocaleString('en')} admitted, ${st.refused.toLocaleString('en')} refused, other ${JSON.stringify(st.otherFailures)}, ${st.connectsPerSecond.toLocaleString('en')} connects/s, alive: ${st.alive}`,
      st.passed,
    );
  }
  if (extra?.churn) {
    const c = extra.churn;
    add(
      `churn (${c.cycles.toLocaleString('en')} connect/disconnect cycles)`,
      'RSS and heap within 5 %',
      `RSS ${c.rssGrowthPercent.toFixed(1)} %, heap ${c.heapGrowthPercent?.toFixed(1)} % after ${c.completed.toLocaleString('en')} cycles` +
        `${c.attempted < c.cycles ? ' (time bound reached first)' : ''}, ${c.cyclesPerSecond}/s`,
      // Fewer cycles than asked for prove nothing either way about the rest.
      c.attempted < c.cycles && c.passed ? null : c.passed,
    );
  }
  if (extra?.monitoring) {
    const m = extra.monitoring;
    add(
      'monitoring on vs off',
      '≤ 5 % fewer deliveries/s',
      `${m.capacityLossPercent.toFixed(1)} % (CPU/delivery ${us(m.cpuUsPerDeliveryOn)} on, ${us(m.cpuUsPerDeliveryOff)} off, @${rate(m.deliveriesPerSecond)})`,
      m.capacityLossPercent <= 5,
    );
  }
  for (const row of deliveryModeTargets(extra?.deliveryModes)) add(...row);
  if (extra?.presence) {
    const pr = extra.presence;
    add(
      'presence tracking, connect rate',
      'within 5 % of PRESENCE=off',
      `${signed(pr.connectRateLossPercent === null ? null : -pr.connectRateLossPercent)} (${pr.connectsPerSecond.on?.toFixed(0)}/s on vs ${pr.connectsPerSecond.off?.toFixed(0)}/s off; CPU/connect ${pr.cpuUsPerConnect.on?.toFixed(0)} vs ${pr.cpuUsPerConnect.off?.toFixed(0)} µs)`,
      pr.connectRateLossPercent === null ? false : pr.connectRateLossPercent <= 5,
    );
    add(
      'presence tracking, CPU/delivery',
      'within 5 % of PRESENCE=off',
      `${signed(pr.deliveryOverheadPercent)} (${us(pr.cpuUsPerDelivery.on)} on vs ${us(pr.cpuUsPerDelivery.off)} off, @${rate(pr.deliveriesPerSecond)})`,
      pr.deliveryOverheadPercent === null ? false : pr.deliveryOverheadPercent <= 5,
    );
  }
  return table(['target', 'needed', 'measured', ''], rows);
}

const signed = (value) =>
  value === null || value === undefined ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`;

/** The issue 18 rows of the targets table: [target, needed, measured, passed]. */
function deliveryModeTargets(modes) {
  if (!modes) return [];
  const rows = [];
  const d = modes.perDelivery;
  rows.push([
    'conflate=1, reader that keeps up',
    'CPU/delivery within 3 %',
    `${signed(d.conflateOverheadPercent)} (${us(d.cpuUsPerDelivery.conflate)} vs ${us(d.cpuUsPerDelivery.plain)} plain, @${rate(d.deliveriesPerSecond)})`,
    d.conflateOverheadPercent === null ? false : d.conflateOverheadPercent <= 3,
  ]);
  rows.push([
    'since=latest, per delivery',
    'no per-delivery cost (within 3 %)',
    `${signed(d.latestOverheadPercent)} (${us(d.cpuUsPerDelivery.latest)} vs ${us(d.cpuUsPerDelivery.plain)} plain)`,
    d.latestOverheadPercent === null ? false : d.latestOverheadPercent <= 3,
  ]);
  const s = modes.perSubscribe;
  rows.push([
    'since=latest, per subscribe',
    'one history read (reported)',
    `+${s.extraUsPerSubscribe?.toFixed(0) ?? '–'} µs CPU per connect (${s.cpuUsPerConnect.latest?.toFixed(0)} vs ${s.cpuUsPerConnect.plain?.toFixed(0)} µs, ${signed(s.overheadPercent)})`,
    'reported',
  ]);
  for (const [broker, p] of Object.entries(modes.publish.brokers)) {
    rows.push([
      `Idempotency-Key, publish/s (${broker})`,
      broker === 'memory' ? 'one map lookup (reported)' : 'no extra Redis call (reported)',
      `${p.withKey?.toLocaleString('en') ?? '–'}/s with, ${p.withoutKey?.toLocaleString('en') ?? '–'}/s without (${signed(p.lossPercent === null ? null : -p.lossPercent)})`,
      'reported',
    ]);
  }
  return rows;
}

function deliveryModesSection(modes) {
  const d = modes.perDelivery;
  const s = modes.perSubscribe;
  const p = modes.publish;
  return [
    '## Delivery modes on vs off (Herald, issue 18)',
    '',
    `Fan-out to ${d.subscribers.toLocaleString('en')} subscribers at ${rate(d.deliveriesPerSecond)} (readers that keep up), fresh server per run, alternating plain / \`conflate=1\` / \`since=latest\`:`,
    '',
    table(
      ['variant', 'received', 'p99', 'server CPU/delivery', 'others on core 0'],
      d.runs.map((r) => [
        r.variant,
        `${r.received}/${r.expected}`,
        p99Text(r),
        us(r.cpuUsPerDelivery),
        pct(r.otherLoadPercent),
      ]),
    ),
    '',
    `Medians: plain ${us(d.cpuUsPerDelivery.plain)}, conflate=1 ${us(d.cpuUsPerDelivery.conflate)} (${signed(d.conflateOverheadPercent)}), since=latest ${us(d.cpuUsPerDelivery.latest)} (${signed(d.latestOverheadPercent)}).`,
    '',
    `Subscribe cost: ${s.streams.toLocaleString('en')} connects over ${s.topics} topics that each retain one event, server CPU per connect (median of ${s.runs.length / 2} runs each): ` +
      `${s.cpuUsPerConnect.plain?.toFixed(0)} µs plain, ${s.cpuUsPerConnect.latest?.toFixed(0)} µs with since=latest ` +
      `(+${s.extraUsPerSubscribe?.toFixed(0)} µs: the history read and the one retained frame written).`,
    '',
    `Publish requests/s, ${p.publishers} keep-alive publishers in a closed loop for ${p.seconds} s, a fresh Idempotency-Key on every request vs none (median of ${p.runs.length / (2 * Object.keys(p.brokers).length)} runs each):`,
    '',
    table(
      ['broker', 'without key', 'with key', 'difference'],
      Object.entries(p.brokers).map(([broker, b]) => [
        broker,
        `${b.withoutKey?.toLocaleString('en') ?? '–'}/s`,
        `${b.withKey?.toLocaleString('en') ?? '–'}/s`,
        signed(b.lossPercent === null ? null : -b.lossPercent),
      ]),
    ),
    ...(p.redisSkipped ? ['', `Redis rows skipped: ${p.redisSkipped}.`] : []),
    '',
  ];
}

function presenceSection(pr) {
  return [
    '## Presence tracking on vs off (Herald, issue 17)',
    '',
    `Per run, a fresh server with PRESENCE=on or off: ${pr.streams.toLocaleString('en')} streams opened over ${pr.topics} topics, then fan-out to ${pr.subscribers.toLocaleString('en')} subscribers at ${rate(pr.deliveriesPerSecond)}:`,
    '',
    table(
      ['PRESENCE', 'streams', 'connects/s', 'server CPU/connect', 'CPU/delivery'],
      pr.runs.map((r) => [
        r.variant,
        r.established,
        r.connectsPerSecond?.toFixed(0) ?? '–',
        `${r.cpuUsPerConnect?.toFixed(0) ?? '–'} µs`,
        `${us(r.cpuUsPerDelivery)}${r.held ? '' : ' ✗'}`,
      ]),
    ),
    '',
  ];
}

function stepsTable(results) {
  const rows = [];
  for (const [, r] of Object.entries(results.servers)) {
    for (const fanout of r.fanout) {
      for (const step of fanout.steps) {
        if (step.error) {
          rows.push([
            r.label,
            fanout.subscribers,
            rate(step.deliveriesPerSecond),
            step.error,
            '',
            '',
            '',
            '',
            '',
            '',
            '',
            '',
          ]);
          continue;
        }
        rows.push([
          r.label,
          step.subscribers.toLocaleString('en'),
          rate(step.deliveriesPerSecond),
          rate(step.offeredPerSecond),
          `${step.received.toLocaleString('en')} / ${step.expected.toLocaleString('en')}`,
          ms(step.p50Ms),
          p99Text(step),
          us(step.cpuUsPerDelivery),
          pct(step.serverCpuPercent),
          pct(step.otherLoadPercent),
          pct(step.clientCpuPercent ?? 0),
          verdict(step),
        ]);
      }
    }
  }
  return table(
    [
      'server',
      'subs',
      'rate',
      'offered',
      'received / expected',
      'p50',
      'p99',
      'server CPU/delivery',
      'server CPU',
      'others on core 0',
      'load client CPU',
      '',
    ],
    rows,
  );
}

function idleTable(results) {
  const rows = [];
  for (const [, r] of Object.entries(results.servers)) {
    for (const row of r.idle.rows) {
      rows.push([
        r.label,
        `${row.streams.toLocaleString('en')} / ${row.target.toLocaleString('en')}`,
        `${row.rssMb.toFixed(0)} MB (base ${r.idle.baseRssMb.toFixed(0)} MB)`,
        kb(row.rssPerStreamKb),
        kb(row.heapPerStreamKb),
        `${row.connectsPerSecond.toLocaleString('en')}/s`,
        Object.keys(row.outcomes).length ? JSON.stringify(row.outcomes) : '–',
      ]);
    }
  }
  return table(
    ['server', 'streams open / asked', 'server RSS', 'RSS/stream', 'heap/stream', 'connects', 'failures'],
    rows,
  );
}

function fanoutChart(results) {
  const counts = [...new Set(Object.values(results.servers).flatMap((r) => r.fanout.map((f) => f.subscribers)))];
  const panels = counts.map((subscribers) => ({
    title: `fan-out to ${subscribers.toLocaleString('en')} subscribers`,
    xLabel: 'deliveries per second (offered)',
    yLabel: 'p99 publish→receive latency, ms',
    yLog: true,
    hLines: [
      { y: 1000, label: 'p99 limit 1 s' },
      { y: 100, label: '100 ms' },
    ],
    series: Object.entries(results.servers).map(([key, r]) => ({
      label: r.label,
      color: COLORS[key] ?? '#000',
      points: (fanoutFor(r, subscribers)?.steps ?? [])
        .filter((step) => !step.error)
        .map((step) => ({ x: step.deliveriesPerSecond, y: step.late ? step.maxMs : step.p99Ms, hollow: !step.held })),
    })),
  }));
  return svgChart(panels, {
    note: 'hollow: the step lost events, dropped streams or missed p99 ≤ 1 s (a late step is drawn at its highest latency seen)',
  });
}

function idleChart(results) {
  return svgChart([
    {
      title: 'idle memory per stream',
      xLabel: 'open streams',
      yLabel: 'server RSS per stream, KB',
      series: Object.entries(results.servers).map(([key, r]) => ({
        label: r.label,
        color: COLORS[key] ?? '#000',
        points: r.idle.rows.map((row) => ({ x: row.streams, y: row.rssPerStreamKb })),
      })),
    },
  ]);
}

function markdown(results) {
  const m = results.machine;
  const title = results.mode === 'full' ? 'full run (`npm run bench:full`)' : 'quick run (`npm run bench`)';
  const others = Object.values(results.servers).flatMap((r) =>
    r.fanout.flatMap((f) => f.steps.map((s) => s.otherLoadPercent)).filter((v) => v !== undefined),
  );
  const sorted = [...others].sort((a, b) => a - b);
  const medianOther = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
  const parts = [
    `# Herald benchmark — ${title}`,
    '',
    `${results.startedAt} · ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB · Node ${m.node} · Linux ${m.kernel} · ${results.pinning} · loopback, 100-byte events · ${results.durationS} s`,
    '',
    `**Machine load while measuring:** load average ${results.loadBefore.join(' / ')} at start, ${results.loadAfter.join(' / ')} at the end; ` +
      `other processes used a median ${medianOther.toFixed(0)} % (max ${sorted.length ? sorted.at(-1).toFixed(0) : 0} %) of the server's core during the fan-out steps ` +
      '(column "others on core 0"). Absolute figures move with that load; compare servers within this run.',
    '',
    '## Summary',
    '',
    summary(results),
    '',
    '"held": highest delivery rate with every event delivered to every subscriber, no stream dropped and p99 ≤ 1 s; ' +
      '"first broken": the lowest rate that missed (and why). CPU/delivery: server CPU time (/proc utime+stime) over the step divided by deliveries.',
    '',
  ];
  parts.push(
    '## Cost per stream',
    '',
    streamCost(results),
    '',
    "RSS per idle stream: VmRSS over the fresh server's own after a full GC, divided by streams. CPU per connect: the " +
      "server's CPU while the streams of that step were opened, divided by them. Idle: the server's CPU while those streams " +
      'sat silent. CPU per delivery and p99: a fixed rate well below saturation, fresh server.',
    '',
  );
  const tt = transportTargets(results);
  if (tt) parts.push('## Herald against the targets of issue 13', '', tt, '');
  const t = targets(results);
  if (t && results.mode === 'full') parts.push('## Herald against the targets of issue 9', '', t, '');
  parts.push(
    '## Idle streams',
    '',
    idleTable(results),
    '',
    `![idle RSS per stream](${results.mode}-idle-rss.svg)`,
    '',
    '## Fan-out steps',
    '',
    stepsTable(results),
    '',
    `![deliveries per second vs p99](${results.mode}-fanout.svg)`,
    '',
  );
  const extra = results.herald;
  if (extra?.storm) {
    const st = extra.storm;
    parts.push(
      '## Connection storm (Herald)',
      '',
      `MAX_CONNECTIONS=10000, CAPACITY_THRESHOLD 0.9 → ${st.admitLimit.toLocaleString('en')} admitted at most. ` +
        `${st.attempted.toLocaleString('en')} connects, up to 2,000 handshakes in flight, in ${(st.elapsedMs / 1000).toFixed(1)} s ` +
        `(${st.connectsPerSecond.toLocaleString('en')} connects/s): outcomes ${JSON.stringify({ 200: st.admitted, ...st.outcomes })}; ` +
        `server alive afterwards: ${st.alive}, publish after the storm → ${st.publishAfter}, RSS ${st.rssMb?.toFixed(0)} MB.`,
      '',
    );
  }
  if (extra?.churn) {
    const c = extra.churn;
    parts.push(
      '## Churn (Herald)',
      '',
      `${c.completed.toLocaleString('en')} of ${c.attempted.toLocaleString('en')} connect → 200 → disconnect cycles (target ${c.cycles.toLocaleString('en')}, bounded to 180 s) at ${c.cyclesPerSecond.toLocaleString('en')}/s ` +
        `(failures ${JSON.stringify(c.outcomes)}); after a full GC: RSS ${c.rssBeforeMb.toFixed(1)} → ${c.rssAfterMb.toFixed(1)} MB ` +
        `(${c.rssGrowthPercent.toFixed(1)} %), heap ${c.heapBeforeMb.toFixed(1)} → ${c.heapAfterMb.toFixed(1)} MB (${c.heapGrowthPercent?.toFixed(1)} %).`,
      '',
    );
  }
  if (extra?.monitoring) {
    const mo = extra.monitoring;
    parts.push(
      '## Monitoring on vs off (Herald)',
      '',
      'There is no switch to turn the Monitoring module off, so "off" is SNAPSHOT_INTERVAL_MS=3600000 (no snapshot during the run) ' +
        `and "on" the default 5000. Fan-out to ${mo.runs[0]?.subscribers.toLocaleString('en')} subscribers at ${rate(mo.deliveriesPerSecond)}, fresh server per run, alternating:`,
      '',
      table(
        ['variant', 'p99', 'server CPU/delivery', 'others on core 0'],
        mo.runs.map((r) => [r.variant, p99Text(r), us(r.cpuUsPerDelivery), pct(r.otherLoadPercent)]),
      ),
      '',
      `Median CPU per delivery ${us(mo.cpuUsPerDeliveryOn)} on, ${us(mo.cpuUsPerDeliveryOff)} off: monitoring costs ${mo.capacityLossPercent.toFixed(1)} % of the deliveries one core can make (negative: within the noise).`,
      '',
    );
  }
  if (extra?.deliveryModes) parts.push(...deliveryModesSection(extra.deliveryModes));
  if (extra?.presence) parts.push(...presenceSection(extra.presence));
  parts.push(
    '## How it was measured',
    '',
    '- Each server runs alone (`taskset -c 0`), preloaded with a probe that runs a full GC before memory is read; RSS is VmRSS from /proc/PID/status, CPU is utime+stime from /proc/PID/stat.',
    '- Load clients (`bench/load/subscriber.mjs`, 2 processes on core 1) hold streams on raw `net` sockets from 127.0.0.2… and only scan for the payload marker; every payload carries its scheduled publish time, so latency is publish→receive and publishing late counts against the server.',
    `- Herald: ${results.heraldBuild ?? 'dist/'}, run as \`node main.js\` with ${Object.entries(results.heraldEnv)
      .filter(([k]) => !/TOKEN|PATH/.test(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}; everything else at its defaults (15 s heartbeats, 1 MiB slow-consumer limit, history on).`,
    ...(() => {
      const idle = Object.values(results.servers).find((r) => r.idle?.fdLimitedMax)?.idle;
      return idle && idle.fdLimitedMax < 50_000
        ? [
            `- The largest idle step is capped by the server process's open-file limit (${idle.fdLimit?.toLocaleString('en')}): ` +
              `${idle.fdLimitedMax.toLocaleString('en')} streams, not the 50,000 asked (raising the hard limit needs CAP_SYS_RESOURCE).`,
          ]
        : [];
    })(),
    '- Baselines: `bench/baselines/` — naive NestJS @Sse (one Subject, filter+map per subscriber), better-sse 0.16 on node:http (a Channel per topic), bare Express 5 (express routing, `res.write` of a shared frame), hand-tuned node:http (frame encoded once, `res.write` to each subscriber).',
    '',
  );
  return parts.join('\n');
}

/** Writes the report (unless `outDir` is null) and returns the summary table. */
export function writeReport(results, outDir) {
  if (outDir) {
    writeFileIn(outDir, `${results.mode}.md`, markdown(results));
    writeFileIn(outDir, `${results.mode}.json`, `${JSON.stringify(results, null, 1)}\n`);
    writeFileIn(outDir, `${results.mode}-fanout.svg`, fanoutChart(results));
    writeFileIn(outDir, `${results.mode}-idle-rss.svg`, idleChart(results));
  }
  const t = results.mode === 'full' ? targets(results) : null;
  const tt = transportTargets(results);
  return [summary(results), streamCost(results), tt, t].filter(Boolean).join('\n\n');
}
