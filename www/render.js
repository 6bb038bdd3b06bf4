// Renders a preflight report (the serde JSON of src/report.rs) as DOM nodes.
// UI only: no wasm, no GPU, no network. Every piece of text from the report
// goes through textContent or setAttribute, never through innerHTML.

import { wordDiff } from './diff.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an element: el('td', {class: 'num', dataset: {value: 3}}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  applyAttrs(node, attrs);
  append(node, children);
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  applyAttrs(node, attrs);
  append(node, children);
  return node;
}

function applyAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') {
      for (const [dk, dv] of Object.entries(value)) {
        if (dv !== undefined && dv !== null) node.dataset[dk] = String(dv);
      }
    } else if (key === 'testid') {
      node.setAttribute('data-testid', String(value));
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// ---------------------------------------------------------------- formatting

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatInt(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '–';
  return integerFormat.format(Number(value));
}

export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined) return '–';
  const n = Number(value);
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '−∞';
  // Group digits of large whole numbers only: a year stays 2007, not 2,007.
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return Math.abs(n) >= 1e4 ? integerFormat.format(n) : String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return n.toExponential(digits - 1);
  return String(Number(n.toPrecision(digits)));
}

export function formatPercent(share, digits = 1) {
  if (share === null || share === undefined || Number.isNaN(Number(share))) return '–';
  const pct = Number(share) * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return `${pct.toFixed(digits)}%`;
}

export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function formatMs(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n)) return '–';
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`;
  return `${n.toFixed(n < 10 ? 2 : 1)} ms`;
}

function lineEndingName(lineEnding) {
  if (lineEnding === '\r\n') return 'CRLF (\\r\\n)';
  if (lineEnding === '\n') return 'LF (\\n)';
  if (lineEnding === '\r') return 'CR (\\r)';
  return lineEnding ? JSON.stringify(lineEnding) : '–';
}

function delimiterName(delimiter) {
  if (delimiter === undefined || delimiter === null) return undefined;
  const names = { ',': 'comma (,)', '\t': 'tab', ';': 'semicolon (;)', '|': 'pipe (|)', ' ': 'space' };
  return names[delimiter] ?? JSON.stringify(delimiter);
}

function humanise(key) {
  return String(key).replace(/_/g, ' ');
}

// ---------------------------------------------------------------- pieces

/** A number shown to people and exposed to tests as data-value. */
function stat(testid, label, value, display) {
  return el(
    'div',
    { class: 'stat', testid, dataset: { value: value === undefined || value === null ? '' : value } },
    el('span', { class: 'stat-value' }, display ?? (value === undefined || value === null ? '–' : formatInt(value))),
    el('span', { class: 'stat-label' }, label),
  );
}

function section(id, title, ...children) {
  return el('section', { class: 'report-section', id: `section-${id}`, testid: `section-${id}` }, el('h2', {}, title), ...children);
}

function definitionList(pairs, attrs = {}) {
  const dl = el('dl', { class: 'facts', ...attrs });
  for (const pair of pairs) {
    if (!pair) continue;
    const [term, value, testid] = pair;
    if (value === undefined) continue;
    dl.append(el('dt', {}, term), el('dd', testid ? { testid } : {}, value));
  }
  return dl;
}

function table({ head, rows, caption, className = 'data-table', testid }) {
  const thead = el('thead', {}, el('tr', {}, head.map((h) => (h instanceof Node ? h : el('th', { scope: 'col' }, h)))));
  const tbody = el('tbody', {}, rows);
  return el(
    'div',
    { class: 'table-wrap' },
    el('table', { class: className, testid }, caption ? el('caption', {}, caption) : null, thead, tbody),
  );
}

function emptyNote(text) {
  return el('p', { class: 'muted' }, text);
}

function rowIdList(rows, lines, size) {
  const parts = [];
  rows.forEach((row, i) => {
    if (i > 0) parts.push(', ');
    const line = lines?.[i];
    parts.push(el('span', { class: 'row-id', dataset: { row, line } }, `row ${row}`, line !== undefined ? el('span', { class: 'line' }, ` (line ${line})`) : null));
  });
  if (size !== undefined && size > rows.length) {
    const left = size - rows.length;
    parts.push(el('span', { class: 'muted rows-not-listed', dataset: { count: left } }, ` … and ${formatInt(left)} more row${left === 1 ? '' : 's'} not listed`));
  }
  return parts;
}

/** An inline histogram of a numeric column: bars as SVG rects. */
function histogramSvg(histogram, columnName) {
  const counts = histogram?.counts ?? [];
  const edges = histogram?.edges ?? [];
  if (counts.length === 0) return null;
  const width = 120;
  const height = 32;
  const barWidth = width / counts.length;
  const maxCount = Math.max(1, ...counts.map(Number));
  const root = svg('svg', {
    class: 'histogram',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Histogram of ${columnName}`,
    testid: 'histogram',
  });
  root.append(svg('title', {}, `Histogram of ${columnName}: ${counts.length} bins from ${formatNumber(edges[0])} to ${formatNumber(edges[edges.length - 1])}`));
  counts.forEach((count, i) => {
    const h = count > 0 ? Math.max(1, (Number(count) / maxCount) * (height - 1)) : 0;
    const rect = svg('rect', {
      class: 'bar',
      x: (i * barWidth + 0.5).toFixed(2),
      y: (height - h).toFixed(2),
      width: Math.max(0.5, barWidth - 1).toFixed(2),
      height: h.toFixed(2),
    });
    rect.append(svg('title', {}, `${formatNumber(edges[i])} – ${formatNumber(edges[i + 1])}: ${formatInt(count)}`));
    root.append(rect);
  });
  root.append(svg('line', { class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }));
  return root;
}

/** Marks a streamed column's estimated figure (its `approximate` lists `field`). */
function estimated(column, field) {
  return (column.approximate ?? []).includes(field) ? '≈ ' : '';
}

/**
 * A top value's count: a range where the counts are upper bounds at most
 * `overcount` above the truth (a streamed column's Space-Saving summary),
 * else the count, after `approx` ("≈ " for an estimate).
 */
function countText(n, overcount, approx) {
  if (overcount > 0) return `${formatInt(Math.max(1, n - overcount))}–${formatInt(n)}`;
  return `${approx}${formatInt(n)}`;
}

function topValuesList(topValues, count, limit = 5, approx = '', overcount = 0) {
  if (!topValues || topValues.length === 0) return null;
  const list = el('ol', { class: 'top-values' });
  for (const { value, count: n } of topValues.slice(0, limit)) {
    const share = count > 0 ? n / count : 0;
    list.append(
      el(
        'li',
        {},
        el('span', { class: 'value' }, value === '' ? '(empty)' : value),
        ' ',
        el('span', { class: 'count' }, `${countText(n, overcount, approx)} (${formatPercent(share)})`),
      ),
    );
  }
  if (topValues.length > limit) list.append(el('li', { class: 'muted' }, `… ${topValues.length - limit} more listed in the JSON`));
  return list;
}

// ---------------------------------------------------------------- sections

function verdictBanner(report) {
  const verdict = report.verdict ?? { passed: true, failures: [], warnings: [], rules: [] };
  const passed = Boolean(verdict.passed);
  const banner = el(
    'section',
    { class: `verdict ${passed ? 'passed' : 'failed'}`, testid: 'verdict', dataset: { passed: String(passed) } },
    el('h2', {}, passed ? 'Passed' : 'Failed', el('span', { class: 'verdict-file' }, ` · ${report.source?.name ?? ''}`)),
  );
  if (verdict.failures?.length) {
    banner.append(el('ul', { class: 'failures', testid: 'verdict-failures' }, verdict.failures.map((m) => el('li', {}, m))));
  }
  if (verdict.warnings?.length) {
    banner.append(el('ul', { class: 'warnings', testid: 'verdict-warnings' }, verdict.warnings.map((m) => el('li', {}, m))));
  }
  if (passed && !verdict.failures?.length && !verdict.warnings?.length) {
    banner.append(el('p', {}, 'No rule failed.'));
  }
  if (verdict.rules?.length) {
    const rows = verdict.rules.map((r) =>
      el(
        'tr',
        { class: r.passed ? 'rule-passed' : `rule-failed severity-${r.severity}` },
        el('td', {}, r.rule),
        el('td', {}, r.column ?? ''),
        el('td', {}, r.severity),
        el('td', { class: 'num' }, formatNumber(r.value)),
        el('td', { class: 'num' }, formatNumber(r.limit)),
        el('td', {}, r.passed ? 'held' : 'failed'),
        el('td', {}, r.source ?? 'default'),
        el('td', {}, r.message),
      ),
    );
    const failed = verdict.rules.filter((r) => !r.passed).length;
    const fromFile = verdict.rules.filter((r) => r.source === 'rules file').length;
    const summary = `Rules (${verdict.rules.length}: ${failed} failed${fromFile ? `; ${fromFile} from the rules file` : ''})`;
    banner.append(
      el('details', { class: 'rules' }, el('summary', {}, summary), table({ head: ['rule', 'column', 'severity', 'value', 'limit', 'outcome', 'from', 'message'], rows, testid: 'rules' })),
    );
  }
  return banner;
}

function overviewSection(report) {
  const source = report.source ?? {};
  const ingest = report.ingest ?? {};
  const stats = el(
    'div',
    { class: 'stats' },
    stat('stat-rows', 'rows', source.rows),
    stat('stat-columns', 'columns', source.columns),
    stat('stat-bytes', 'bytes', source.bytes, formatBytes(source.bytes)),
    stat('stat-format', 'format', source.format, source.format ?? '–'),
    stat('stat-rows-skipped', 'rows skipped', ingest.rows_skipped),
    stat('stat-rows-padded', 'rows padded', ingest.rows_padded),
  );
  const facts = definitionList([
    ['File', source.name, 'stat-file'],
    ['Format', source.format],
    ['Size', `${formatBytes(source.bytes)} (${formatInt(source.bytes)} bytes)`],
    ['Delimiter', delimiterName(source.delimiter)],
    ['Header row', source.header === undefined ? undefined : source.header ? 'yes' : 'no'],
    ['Byte order mark', source.bom ? 'yes (removed)' : 'no'],
    ['Line ending', lineEndingName(source.line_ending)],
  ]);
  const accounting = definitionList([
    ['Records read', formatInt(ingest.records_read)],
    ['Rows used', formatInt(ingest.rows_used)],
    ['Rows skipped', formatInt(ingest.rows_skipped)],
    ['Rows padded (short, filled as missing)', formatInt(ingest.rows_padded)],
    ['Rows with invalid UTF-8', formatInt(ingest.rows_invalid_utf8)],
    ['Blank lines ignored', formatInt(ingest.blank_lines)],
  ], { testid: 'ingest-accounting' });

  const parts = [stats, el('div', { class: 'two-col' }, facts, accounting)];
  const counts = Object.entries(ingest.issue_counts ?? {});
  const issues = ingest.issues ?? [];
  if (counts.length || issues.length) {
    const box = el('div', { class: 'ingest-issues', testid: 'ingest-issues' }, el('h3', {}, 'Reading issues'));
    if (counts.length) {
      box.append(el('p', {}, counts.map(([kind, n], i) => [i ? ', ' : '', el('span', { class: 'issue-count', dataset: { kind, count: n } }, `${humanise(kind)}: ${formatInt(n)}`)])));
    }
    if (issues.length) {
      const rows = issues.map((issue) =>
        el(
          'tr',
          { testid: 'ingest-issue', dataset: { line: issue.line, kind: issue.kind, row: issue.row } },
          el('td', { class: 'num' }, `line ${issue.line}`),
          el('td', { class: 'num' }, issue.row === undefined || issue.row === null ? '–' : String(issue.row)),
          el('td', { class: 'num' }, issue.column === undefined || issue.column === null ? '–' : String(issue.column)),
          el('td', {}, humanise(issue.kind)),
          el('td', {}, issue.message),
        ),
      );
      box.append(table({ head: ['line', 'row', 'column', 'kind', 'what happened'], rows }));
      const total = counts.reduce((sum, [, n]) => sum + Number(n), 0);
      if (total > issues.length) box.append(emptyNote(`Showing the first ${issues.length} of ${formatInt(total)} issues.`));
    }
    parts.push(box);
  }
  return section('overview', 'Overview', ...parts);
}

function columnSummary(column) {
  if (column.numeric) {
    const n = column.numeric;
    return el(
      'div',
      { class: 'summary numeric' },
      el('div', {}, el('span', { class: 'k' }, 'min '), el('span', { class: 'v', dataset: { stat: 'min', value: n.min } }, formatNumber(n.min))),
      el('div', {}, el('span', { class: 'k' }, 'mean '), el('span', { class: 'v', dataset: { stat: 'mean', value: n.mean } }, formatNumber(n.mean))),
      el('div', {}, el('span', { class: 'k' }, 'max '), el('span', { class: 'v', dataset: { stat: 'max', value: n.max } }, formatNumber(n.max))),
      el('div', { class: 'muted' }, `std ${formatNumber(n.std)} · median ${formatNumber(n.quantiles?.['0.5'])} · skew ${formatNumber(n.skewness, 3)}`),
    );
  }
  if (column.datetime) {
    return el(
      'div',
      { class: 'summary datetime' },
      el('div', {}, el('span', { class: 'k' }, 'from '), el('span', { class: 'v' }, column.datetime.min)),
      el('div', {}, el('span', { class: 'k' }, 'to '), el('span', { class: 'v' }, column.datetime.max)),
    );
  }
  if (column.vector) {
    return el(
      'div',
      { class: 'summary vector' },
      el('div', {}, `dimension ${formatInt(column.vector.dimension)}`),
      column.vector.mismatched ? el('div', { class: 'warn' }, `${formatInt(column.vector.mismatched)} rows of another length`) : null,
    );
  }
  if (column.lengths) {
    return el('div', { class: 'summary lengths muted' }, `length ${formatInt(column.lengths.min)}–${formatInt(column.lengths.max)}, mean ${formatNumber(column.lengths.mean, 3)}`);
  }
  return el('span', { class: 'muted' }, '–');
}

function columnDistribution(column) {
  if (column.numeric?.histogram) return histogramSvg(column.numeric.histogram, column.name);
  return topValuesList(column.top_values, column.count, 5, estimated(column, 'top_values'), column.top_values_overcount ?? 0);
}

function columnsSection(report) {
  const columns = report.columns ?? [];
  if (columns.length === 0) return section('columns', 'Columns', emptyNote('No columns.'));
  const rows = columns.map((column) => {
    const alerts = column.alerts ?? [];
    return el(
      'tr',
      { testid: 'column-row', dataset: { column: column.name, type: column.type } },
      el('th', { scope: 'row', class: 'column-name' }, column.name),
      el('td', {}, el('span', { class: `type type-${column.type}` }, column.type)),
      el(
        'td',
        { class: 'num', dataset: { missing: column.missing } },
        formatInt(column.missing),
        el('div', { class: 'muted' }, formatPercent(column.missing_share)),
      ),
      el('td', { class: 'num', dataset: { distinct: column.distinct } }, `${estimated(column, 'distinct')}${formatInt(column.distinct)}`),
      el('td', {}, columnSummary(column)),
      el('td', { class: 'distribution' }, columnDistribution(column)),
      el(
        'td',
        { class: 'alerts' },
        alerts.length
          ? el('ul', {}, alerts.map((a) => el('li', { class: `alert alert-${a.kind}`, dataset: { kind: a.kind } }, el('strong', {}, humanise(a.kind)), ': ', a.message)))
          : el('span', { class: 'muted' }, 'none'),
      ),
    );
  });
  return section(
    'columns',
    `Columns (${columns.length})`,
    table({ head: ['column', 'type', 'missing', 'distinct', 'summary', 'distribution', 'alerts'], rows, testid: 'columns-table', className: 'data-table columns' }),
  );
}

function groupsTable(groups, testid) {
  const rows = groups.map((g, i) =>
    el('tr', { testid, dataset: { rows: g.rows.join(' '), size: g.size } }, el('td', { class: 'num' }, String(i + 1)), el('td', { class: 'num' }, formatInt(g.size)), el('td', {}, rowIdList(g.rows, g.lines, g.size))),
  );
  return table({ head: ['#', 'size', 'rows (file line)'], rows });
}

function groupsNotListedNote(listed, total) {
  return el('p', { class: 'muted groups-not-listed', dataset: { count: total - listed } }, `The ${listed} largest of ${formatInt(total)} groups are listed; ${formatInt(total - listed)} more are counted but not listed.`);
}

/** Duplicates once identifier-like columns are left out (report.duplicates.exact.ignoring_identifiers). */
function idFreeDuplicates(ids) {
  const parts = [el('h3', {}, 'Duplicates ignoring identifier-like columns')];
  if (!ids) {
    parts.push(emptyNote('No column looks like an identifier (unique per row, or named like id, uuid or key), so this is the same as identical rows.'));
    return parts;
  }
  parts.push(
    el(
      'div',
      { class: 'stats' },
      stat('stat-id-free-redundant-rows', 'redundant rows (removable copies)', ids.redundant_rows),
      stat('stat-id-free-additional', 'of which not identical rows (only the ids differ)', ids.additional_redundant_rows),
      stat('stat-id-free-rows-in-groups', 'rows in groups (all copies)', ids.rows_in_groups),
      stat('stat-id-free-groups', 'groups', ids.group_count),
    ),
    el(
      'p',
      { testid: 'id-free-columns' },
      'Columns left out: ',
      (ids.columns_ignored ?? []).map((c, i) => [i ? '; ' : '', el('strong', { class: 'ignored-column', dataset: { column: c.column } }, c.column), ` (${c.reason})`]),
      '.',
    ),
    el('p', { class: 'muted method' }, ids.method),
  );
  if (ids.groups?.length) {
    parts.push(groupsTable(ids.groups, 'id-free-group'));
    if (ids.group_count > ids.groups.length) parts.push(groupsNotListedNote(ids.groups.length, ids.group_count));
  } else {
    parts.push(emptyNote('No two rows are identical once those columns are left out.'));
  }
  return parts;
}

function duplicatesSection(report) {
  const exact = report.duplicates?.exact;
  const near = report.duplicates?.near;
  const parts = [];
  if (exact) {
    parts.push(
      el('h3', {}, 'Exact duplicates: identical rows'),
      el(
        'div',
        { class: 'stats' },
        stat('stat-redundant-rows', 'redundant rows (removable copies)', exact.redundant_rows),
        stat('stat-rows-in-groups', 'rows in groups (all copies)', exact.rows_in_groups),
        stat('stat-exact-groups', 'groups', exact.group_count),
      ),
      el('p', { class: 'muted method' }, exact.method),
    );
    if (exact.normalized) {
      parts.push(el('p', { class: 'normalization', testid: 'normalization' }, el('strong', {}, 'Values normalised before comparing: '), (exact.normalization ?? []).join('; '), '.'));
    }
    if (exact.groups?.length) {
      parts.push(groupsTable(exact.groups, 'exact-group'));
      if (exact.group_count > exact.groups.length) parts.push(groupsNotListedNote(exact.groups.length, exact.group_count));
    } else {
      parts.push(emptyNote('No two rows are identical.'));
    }
    parts.push(...idFreeDuplicates(exact.ignoring_identifiers));
  }
  if (near) {
    parts.push(
      el('h3', {}, 'Near duplicates'),
      el(
        'div',
        { class: 'stats' },
        stat('stat-near-rows-in-groups', 'rows in groups', near.rows_in_groups),
        stat('stat-near-groups', 'groups', near.group_count),
        near.threshold !== undefined && near.threshold !== null ? stat('stat-near-threshold', 'distance threshold', near.threshold, formatNumber(near.threshold)) : null,
      ),
      el('p', { class: 'muted method' }, near.method),
    );
    if (near.groups?.length) {
      parts.push(groupsTable(near.groups, 'near-group'));
      if (near.group_count > near.groups.length) parts.push(emptyNote(`The ${near.groups.length} largest of ${formatInt(near.group_count)} groups.`));
    } else {
      parts.push(emptyNote('No near-duplicate groups.'));
    }
  }
  return section('duplicates', 'Duplicates', ...parts);
}

/** A class name as shown: quoted when surrounding or doubled whitespace would otherwise be invisible. */
function className(name) {
  if (name === '') return '(empty)';
  return name !== name.trim() || /\s\s/.test(name) ? JSON.stringify(name) : name;
}

/** The label column chooser: every column, or detection. app.js wires its change event. */
function labelPicker(report, balance) {
  const current = balance?.label_column ?? '';
  const select = el(
    'select',
    { id: 'label-select', testid: 'label-select', 'aria-label': 'Label column' },
    el('option', { value: '', selected: current === '' }, '(detect automatically)'),
    (report.columns ?? []).map((c) => el('option', { value: c.name, selected: c.name === current }, `${c.name} (${c.type})`)),
  );
  return el('p', { class: 'label-picker' }, el('label', { for: 'label-select' }, 'Label column '), select, el('span', { class: 'muted' }, ' choosing another re-runs the checks on the rows already read'));
}

/** Bar chart of class counts, largest first (at most CHART_CLASSES bars). */
const CHART_CLASSES = 40;
function classChart(classes, variantOf) {
  const shown = classes.slice(0, CHART_CLASSES);
  if (shown.length === 0) return null;
  const barWidth = 28;
  const gap = 6;
  const plotHeight = 120;
  const labelHeight = 70;
  const left = 44;
  const width = left + shown.length * (barWidth + gap) + gap;
  const height = plotHeight + labelHeight + 16;
  const maxCount = Math.max(1, ...shown.map((c) => Number(c.count)));
  const root = svg('svg', { class: 'class-chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'Rows per class', testid: 'class-chart' });
  root.append(svg('title', {}, `Rows per class: ${shown.length} of ${classes.length} classes, largest first`));
  const top = 14;
  root.append(
    svg('line', { class: 'axis', x1: left - 2, y1: top + plotHeight + 0.5, x2: width, y2: top + plotHeight + 0.5 }),
    svg('line', { class: 'axis', x1: left - 2.5, y1: top, x2: left - 2.5, y2: top + plotHeight }),
    svg('text', { class: 'tick', x: left - 6, y: top + 4, 'text-anchor': 'end' }, formatInt(maxCount)),
    svg('text', { class: 'tick', x: left - 6, y: top + plotHeight, 'text-anchor': 'end' }, '0'),
  );
  shown.forEach((c, i) => {
    const x = left + gap + i * (barWidth + gap);
    const h = c.count > 0 ? Math.max(1, (Number(c.count) / maxCount) * plotHeight) : 0;
    const kind = c.flagged ? 'bar flagged' : variantOf.has(c.class) ? 'bar variant' : 'bar';
    const rect = svg('rect', { class: kind, x, y: (top + plotHeight - h).toFixed(2), width: barWidth, height: h.toFixed(2), testid: 'class-bar', dataset: { class: c.class, count: c.count } });
    rect.append(svg('title', {}, `${className(c.class)}: ${formatInt(c.count)} (${formatPercent(c.share)})`));
    const full = className(c.class);
    const name = full.length > 14 ? `${full.slice(0, 13)}…` : full;
    const labelY = top + plotHeight + 10;
    root.append(
      rect,
      svg('text', { class: 'bar-count', x: x + barWidth / 2, y: (top + plotHeight - h - 3).toFixed(2), 'text-anchor': 'middle' }, formatInt(c.count)),
      svg('text', { class: 'bar-label', x: x + barWidth / 2, y: labelY, 'text-anchor': 'end', transform: `rotate(-45 ${x + barWidth / 2} ${labelY})` }, name),
    );
  });
  return root;
}

function classBalanceSection(report) {
  const balance = report.class_balance;
  if (!balance) {
    return section(
      'class-balance',
      'Class balance',
      labelPicker(report, null),
      stat('stat-label-column', 'label column', '', 'none'),
      emptyNote('No label column was found or chosen; choose one above (or under Options) to check class balance and labels.'),
    );
  }
  const classes = balance.classes ?? [];
  const singletons = new Set(balance.singletons ?? []);
  const variantOf = new Map();
  for (const v of balance.case_variants ?? []) for (const c of v.classes) variantOf.set(c.class, v);
  const maxShare = Math.max(1e-12, ...classes.map((c) => Number(c.share)));
  const width = 240;
  const rows = classes.map((c) => {
    const barWidth = Math.max(c.count > 0 ? 1 : 0, (Number(c.share) / maxShare) * width);
    const bar = svg('svg', { class: 'balance-bar', viewBox: `0 0 ${width} 14`, width, height: 14, role: 'img', 'aria-label': `${formatPercent(c.share)}` });
    bar.append(svg('rect', { class: c.flagged ? 'bar flagged' : 'bar', x: 0, y: 1, width: barWidth.toFixed(2), height: 12 }));
    const notes = [];
    if (c.flagged) notes.push(el('strong', { class: 'flag' }, 'minority'));
    if (singletons.has(c.class)) notes.push(el('span', { class: 'badge singleton' }, 'seen once'));
    const variants = variantOf.get(c.class);
    if (variants) {
      const others = variants.classes.filter((o) => o.class !== c.class).map((o) => JSON.stringify(o.class));
      notes.push(el('span', { class: 'badge variant' }, `same as ${others.join(', ')}?`));
    }
    return el(
      'tr',
      { class: c.flagged ? 'flagged' : '', testid: 'class-row', dataset: { class: c.class, count: c.count, flagged: String(Boolean(c.flagged)) } },
      el('th', { scope: 'row' }, className(c.class)),
      el('td', { class: 'num' }, formatInt(c.count)),
      el('td', { class: 'num' }, formatPercent(c.share)),
      el('td', {}, bar),
      el('td', { class: 'notes' }, notes.map((n, i) => [i ? ' ' : '', n])),
    );
  });
  const flagged = balance.flagged_classes ?? [];
  const parts = [
    labelPicker(report, balance),
    el(
      'div',
      { class: 'stats' },
      stat('stat-label-column', 'label column', balance.label_column, balance.label_column),
      stat('stat-classes', 'classes', classes.length),
      stat('stat-imbalance-ratio', 'imbalance ratio (largest / smallest)', balance.imbalance_ratio, formatNumber(balance.imbalance_ratio, 3)),
      stat('stat-normalized-entropy', 'normalized entropy (1 = balanced)', balance.normalized_entropy, formatNumber(balance.normalized_entropy, 3)),
      stat('stat-flagged-classes', 'minority classes flagged', flagged.length),
      stat('stat-singleton-classes', 'classes seen once', singletons.size),
      stat('stat-case-variants', 'classes written several ways', (balance.case_variants ?? []).length),
    ),
    definitionList([
      ['Why this column', balance.reason, 'label-reason'],
      ['Rows with a label', balance.labelled_rows === undefined ? undefined : formatInt(balance.labelled_rows)],
      ['Rows without a label', formatInt(balance.missing)],
      ['Multi-label', balance.multi_label ? 'yes: each row holds a list of labels; every label is counted, and shares are of all label assignments' : undefined, 'multi-label'],
      ['Flag rule', `share below ${formatPercent(balance.flag_share_below, 2)} (0.1 / number of classes)`],
      ['Flagged', flagged.length ? flagged.join(', ') : 'none'],
    ]),
  ];
  if ((balance.case_variants ?? []).length) {
    parts.push(
      el('h3', {}, 'Likely the same class'),
      el('p', { class: 'muted' }, 'These labels differ only in upper/lower case or whitespace.'),
      el(
        'ul',
        { class: 'case-variants', testid: 'case-variants' },
        balance.case_variants.map((v) =>
          el(
            'li',
            { testid: 'case-variant', dataset: { normalized: v.normalized, classes: v.classes.map((c) => c.class).join('|'), count: v.count } },
            v.classes.map((c, i) => [i ? ', ' : '', el('code', {}, JSON.stringify(c.class)), ` (${formatInt(c.count)})`]),
            ` → ${formatInt(v.count)} together`,
          ),
        ),
      ),
    );
  }
  if (singletons.size) {
    parts.push(
      el('h3', {}, 'Classes seen once'),
      el('p', { class: 'singleton-classes', testid: 'singleton-classes', dataset: { count: singletons.size } }, [...singletons].map((c, i) => [i ? ', ' : '', el('code', {}, className(c))])),
    );
  }
  parts.push(
    el('h3', {}, 'Rows per class'),
    classChart(classes, variantOf),
    classes.length > CHART_CLASSES ? emptyNote(`The chart shows the ${CHART_CLASSES} largest of ${formatInt(classes.length)} classes; the table lists them all.`) : null,
    table({ head: ['class', 'rows', 'share', '', 'notes'], rows, testid: 'class-balance', className: 'data-table balance' }),
  );
  return section('class-balance', 'Class balance', ...parts);
}

function conflictsSection(report, columnNames) {
  const c = report.conflicting_labels;
  if (!c) {
    return section('conflicting-labels', 'Conflicting labels', emptyNote('No label column, so no conflicting labels to look for; choose one under Class balance.'));
  }
  const parts = [
    el(
      'div',
      { class: 'stats' },
      stat('stat-conflict-groups', 'groups (identical features, different labels)', c.group_count),
      stat('stat-conflict-rows', 'rows in groups', c.rows_in_groups),
      stat('stat-conflict-outvoted', "rows outvoted by their group's most common label", c.rows_outvoted),
    ),
    el('p', { class: 'muted method' }, `${c.method} (label column: ${c.label_column}).`),
  ];
  if (c.columns_ignored?.length) {
    parts.push(el('p', { class: 'muted' }, 'Also left out: ', c.columns_ignored.map((x, i) => [i ? '; ' : '', el('strong', {}, x.column), ` (${x.reason})`]), '.'));
  }
  if (c.groups?.length) {
    const ignored = new Set((c.columns_ignored ?? []).map((x) => x.column));
    const rows = c.groups.map((g, i) =>
      el(
        'tr',
        { testid: 'conflict-group', dataset: { rows: g.rows.join(' '), size: g.size, labels: g.labels.map((l) => `${l.class}:${l.count}`).join('|') } },
        el('td', { class: 'num' }, String(i + 1)),
        el('td', { class: 'num' }, formatInt(g.size)),
        el('td', { class: 'conflict-labels' }, g.labels.map((l, j) => [j ? ', ' : '', el('span', { class: 'conflict-label', dataset: { class: l.class, count: l.count } }, el('code', {}, className(l.class)), ` × ${formatInt(l.count)}`)])),
        el('td', {}, rowIdList(g.rows, g.lines, g.size)),
        el(
          'td',
          { class: 'conflict-values' },
          (g.values ?? []).map((v, j) => (columnNames[j] === c.label_column || ignored.has(columnNames[j]) ? null : [el('span', { class: 'value-name' }, columnNames[j] ?? `column ${j + 1}`), '=', el('span', { class: 'value' }, v), ' '])),
        ),
      ),
    );
    parts.push(table({ head: ['#', 'size', 'labels (rows)', 'rows (file line)', 'features (first row)'], rows, testid: 'conflict-groups' }));
    if (c.group_count > c.groups.length) parts.push(groupsNotListedNote(c.groups.length, c.group_count));
  } else {
    parts.push(emptyNote(c.feature_columns > 0 ? 'No two rows with identical features carry different labels.' : c.method));
  }
  return section('conflicting-labels', 'Conflicting labels', ...parts);
}

/** How text became vectors, when a text column did: by meaning (semantic) or as hashed n-grams. */
function embeddingMethod(e) {
  if (e.method === 'semantic') {
    const where = `${e.backend === 'gpu' ? 'GPU' : 'CPU'}${e.adapter ? ` (${e.adapter})` : ''}`;
    const cut = `${formatInt(e.truncated_texts ?? 0)} text${e.truncated_texts === 1 ? '' : 's'} cut at 256 tokens`;
    const missing = e.rows_without_text ? `; ${formatInt(e.rows_without_text)} rows without text left out` : '';
    return el('p', { testid: 'embedding-method', 'data-method': 'semantic', 'data-backend': e.backend ?? '' }, `Text by meaning: ${e.model} on the ${where}; ${cut}${missing}.${e.note ? ` ${e.note}` : ''}`);
  }
  if (e.method === 'hashed') {
    return el('p', { testid: 'embedding-method', 'data-method': 'hashed' }, 'Text as hashed character 3-grams: copies with small edits come out close, paraphrases do not (choose the semantic text embedding for meaning).');
  }
  return null;
}

function embeddingSection(report) {
  const e = report.embedding;
  if (!e) return null;
  const features = (e.features ?? []).map((f) => el('li', {}, el('strong', {}, f.column), `: ${humanise(f.encoding)}, ${formatInt(f.dimensions)} dimension${f.dimensions === 1 ? '' : 's'}`));
  const excluded = (e.excluded ?? []).map((x) => el('li', {}, el('strong', {}, x.column), `: ${x.reason}`));
  return section(
    'embedding',
    'Row vectors',
    el('p', {}, `Each row became a ${formatInt(e.dimension)}-dimensional vector for the neighbour checks; ${formatInt(e.rows)} rows embedded${e.sampled ? ' (a uniform sample)' : ''}.`),
    embeddingMethod(e),
    features.length ? el('details', {}, el('summary', {}, `Features (${features.length})`), el('ul', {}, features)) : null,
    excluded.length ? el('details', {}, el('summary', {}, `Columns left out (${excluded.length})`), el('ul', {}, excluded)) : null,
  );
}

/**
 * The neighbours of a flagged row: their ids, and on opening, the row beside
 * its nearest neighbours with their distances and values; a neighbour's
 * value that differs from the row's is marked, so the reason for the flag
 * can be read off.
 */
function neighboursCell(r, columnNames) {
  const ids = (r.neighbours ?? []).join(', ');
  const near = r.neighbour_rows ?? [];
  if (!near.length) return ids;
  const width = Math.max(columnNames.length, r.values?.length ?? 0, ...near.map((n) => n.values?.length ?? 0));
  const head = ['', 'row', 'line', 'distance'];
  for (let i = 0; i < width; i++) head.push(columnNames[i] ?? `column ${i + 1}`);
  const line = (kind, row, rowLine, distance, values, marked) => {
    const cells = [el('th', { scope: 'row' }, kind), el('td', { class: 'num' }, String(row)), el('td', { class: 'num' }, String(rowLine)), el('td', { class: 'num' }, distance)];
    for (let i = 0; i < width; i++) {
      const value = values?.[i] ?? '';
      const differs = marked && value !== (r.values?.[i] ?? '');
      cells.push(el('td', { class: differs ? 'value-cell differs' : 'value-cell' }, value));
    }
    return el('tr', {}, cells);
  };
  const body = [line('flagged', r.row, r.line, '–', r.values, false)];
  near.forEach((n, i) => body.push(line(`#${i + 1}`, n.row, n.line, formatNumber(n.distance), n.values, true)));
  return el(
    'details',
    { class: 'neighbour-rows', testid: 'neighbour-rows' },
    el('summary', {}, ids),
    el('p', { class: 'muted' }, 'The row beside its nearest neighbours; values that differ from the row are marked.'),
    table({ head, rows: body, className: 'data-table neighbour-table' }),
  );
}

function flaggedRowsTable(rows, columnNames, { withLabels = false, testid }) {
  const head = ['row', 'line', 'score'];
  if (withLabels) head.push('label', 'suggested label');
  else head.push('mean kNN distance');
  head.push('neighbours (row ids)');
  const width = Math.max(columnNames.length, ...rows.map((r) => r.values?.length ?? 0));
  for (let i = 0; i < width; i++) head.push(el('th', { scope: 'col', class: 'value-col' }, columnNames[i] ?? `column ${i + 1}`));
  const body = rows.map((r) => {
    const cells = [
      el('td', { class: 'num' }, String(r.row)),
      el('td', { class: 'num' }, String(r.line)),
      el('td', { class: 'num' }, formatNumber(r.score, 3), r.flagged ? el('span', { class: 'flag' }, ' flagged') : null),
    ];
    if (withLabels) cells.push(el('td', { class: 'label' }, r.label ?? '–'), el('td', { class: 'suggested' }, r.suggested_label ?? '–'));
    else cells.push(el('td', { class: 'num' }, formatNumber(r.distance)));
    cells.push(el('td', { class: 'neighbours' }, neighboursCell(r, columnNames)));
    for (let i = 0; i < width; i++) cells.push(el('td', { class: 'value-cell' }, r.values?.[i] ?? ''));
    return el('tr', { class: r.flagged ? 'flagged' : '', testid, dataset: { row: r.row, line: r.line, flagged: String(Boolean(r.flagged)) } }, cells);
  });
  return table({ head, rows: body, className: 'data-table rows-table' });
}

function outliersSection(report, columnNames) {
  const o = report.outliers;
  if (!o) return section('outliers', 'Outliers', stat('stat-outliers-flagged', 'rows flagged', '', 'not run'), emptyNote('The neighbour checks did not run on this file.'));
  return section(
    'outliers',
    'Outliers',
    el(
      'div',
      { class: 'stats' },
      stat('stat-outliers-flagged', 'rows flagged', o.flagged),
      stat('stat-rows-scored', 'rows scored', o.rows_scored),
      stat('stat-outlier-threshold', 'distance threshold', o.distance_threshold, formatNumber(o.distance_threshold)),
    ),
    el('p', { class: 'muted method' }, `Mean ${o.metric} distance to the ${o.k} nearest neighbours; flagged above Q3 + ${formatNumber(o.iqr_factor)} × IQR of that distance, and where a value is 20 IQRs or more from its column's median in a column where such values are rare or stand apart, or is one of a few 4 or more times smaller or larger than the rest of a column of positive numbers (values in other units). Neighbour graph built on the ${o.backend === 'gpu' ? 'GPU' : 'CPU'}.`),
    o.extreme_values?.length
      ? table({
          head: ['row (file line)', 'column', 'value', 'IQRs from the median', 'times apart from the rest'],
          rows: o.extreme_values.map((x) =>
            el(
              'tr',
              { testid: 'extreme-value-row' },
              el('td', {}, `${x.row} (line ${x.line})`),
              el('td', {}, x.column),
              el('td', {}, x.value),
              el('td', { class: 'num' }, formatNumber(x.iqrs)),
              el('td', { class: 'num' }, x.times_apart == null ? '' : `${formatNumber(x.times_apart)}×`),
            ),
          ),
          caption: `Extreme values: ${o.extreme_rows} row${o.extreme_rows === 1 ? '' : 's'}${o.extreme_rows > o.extreme_values.length ? `, the first ${o.extreme_values.length} listed` : ''}`,
          testid: 'extreme-values',
        })
      : null,
    o.top?.length ? flaggedRowsTable(o.top, columnNames, { testid: 'outlier-row' }) : emptyNote('No rows scored.'),
  );
}

function labelIssuesSection(report, columnNames) {
  const l = report.label_issues;
  if (!l) return null;
  return section(
    'label-issues',
    'Suspected label errors',
    el('div', { class: 'stats' }, stat('stat-label-issues-flagged', 'rows flagged', l.flagged)),
    el('p', { class: 'muted method', testid: 'label-issues-method', dataset: { method: l.method ?? '' } }, `${labelIssueMethodName(l.method)}: ${l.description || l.method} (label column: ${l.label_column})`),
    l.top?.length ? flaggedRowsTable(l.top, columnNames, { withLabels: true, testid: 'label-issue-row' }) : emptyNote('No row looks mislabelled.'),
  );
}

/** Which label-issue method ran, in words (report.label_issues.method). */
function labelIssueMethodName(method) {
  if (method === 'confident_learning') return "confident learning on the model's predicted probabilities";
  if (method === 'knn') return 'confident learning on the label shares of each row’s nearest neighbours (kNN)';
  return method ?? '–';
}

/**
 * The model-prediction audit (report.prediction_audit): accuracy, the
 * confusion matrix as a heat map (the annotator view's confusionHeatmap),
 * per-class scores, the worst slices, the rows with the highest loss, and
 * which label-issue method ran.
 */
function predictionAuditSection(report, columnNames) {
  const a = report.prediction_audit;
  if (!a) return null;
  const classes = a.classes ?? [];
  const cl = a.confident_learning ?? {};
  const knn = report.label_issues_knn;
  const stats = el(
    'div',
    { class: 'stats' },
    stat('stat-prediction-accuracy', 'accuracy', a.accuracy, formatPercent(a.accuracy, 2)),
    stat('stat-prediction-log-loss', 'log loss', a.log_loss, formatNumber(a.log_loss)),
    stat('stat-prediction-macro-f1', 'macro F1', a.macro_f1, formatNumber(a.macro_f1, 3)),
    stat('stat-prediction-rows', 'rows audited', a.rows_scored),
    stat('stat-prediction-label-issues', 'suspected label errors', cl.flagged),
  );
  const leftOut = [];
  if (a.rows_without_label) leftOut.push(`${formatInt(a.rows_without_label)} without a label`);
  if (a.rows_without_probabilities) leftOut.push(`${formatInt(a.rows_without_probabilities)} without usable probabilities`);
  const facts = definitionList([
    ['Probability columns', `${(a.columns ?? []).join(', ')} (${a.kind})`, 'prediction-columns'],
    ['Why these', a.reason],
    ['Classes', `${classes.map(className).join(', ')} — ${a.class_mapping}`],
    ['Label column', a.label_column],
    ['Rows left out', leftOut.length ? leftOut.join(', ') : undefined],
    ['Renormalised', a.renormalisation_note ?? undefined, 'prediction-renormalised'],
    [
      'Label-error method',
      el('span', { dataset: { method: report.label_issues?.method ?? '' } }, `${labelIssueMethodName(report.label_issues?.method)}${knn ? `; the kNN check flagged ${formatInt(knn.flagged)} rows (report.label_issues_knn)` : ''}`),
      'label-issue-method',
    ],
  ]);
  const confusion = (a.confusion_matrix ?? []).length
    ? el(
        'div',
        { class: 'confusion', testid: 'prediction-confusion' },
        el('h3', {}, 'Confusion matrix'),
        el('p', { class: 'muted' }, 'Rows: the label; columns: the model’s most probable class. The diagonal is where they agree.'),
        el('div', { class: 'heatmap-holder' }, confusionHeatmap({ first: 'label', second: 'model', confusion: a.confusion_matrix }, classes)),
      )
    : null;
  const perClass = table({
    head: ['class', 'rows labelled', 'rows predicted', 'precision', 'recall', 'F1'],
    rows: (a.per_class ?? []).map((c) =>
      el(
        'tr',
        { testid: 'prediction-class', dataset: { class: c.class, precision: c.precision, recall: c.recall, f1: c.f1 } },
        el('td', {}, className(c.class)),
        el('td', { class: 'num' }, formatInt(c.support)),
        el('td', { class: 'num' }, formatInt(c.predicted)),
        el('td', { class: 'num' }, formatNumber(c.precision, 3)),
        el('td', { class: 'num' }, formatNumber(c.recall, 3)),
        el('td', { class: 'num' }, formatNumber(c.f1, 3)),
      ),
    ),
    caption: 'Per class',
  });
  const slices = (a.slices ?? []).length
    ? table({
        head: ['column', 'slice', 'rows', 'accuracy', '95% interval', 'vs overall', 'mean loss', 'label errors'],
        rows: a.slices.map((s) =>
          el(
            'tr',
            { testid: 'prediction-slice', class: s.small ? 'small-slice' : '', dataset: { column: s.column, slice: s.slice, rows: s.rows, accuracy: s.accuracy } },
            el('td', {}, s.column),
            el('td', { class: 'value-cell' }, s.slice),
            el('td', { class: 'num' }, formatInt(s.rows), s.small ? el('span', { class: 'muted' }, ' few rows') : null),
            el('td', { class: 'num' }, formatPercent(s.accuracy)),
            el('td', { class: 'num' }, `${formatPercent(s.accuracy_low)}–${formatPercent(s.accuracy_high)}`),
            el('td', { class: 'num' }, `${s.gap >= 0 ? '+' : '−'}${formatPercent(Math.abs(s.gap))}`),
            el('td', { class: 'num' }, formatNumber(s.mean_loss, 3)),
            el('td', { class: 'num' }, formatInt(s.label_issues)),
          ),
        ),
        caption: `Worst slices first (${formatInt(a.slices.length)} of ${formatInt(a.slice_count)} listed; slices under ${formatInt(a.min_slice_rows)} rows left out: ${formatInt(a.slices_too_small)})`,
      })
    : emptyNote(`No slice of at least ${formatInt(a.min_slice_rows)} rows to rank.`);
  const width = Math.max(columnNames.length, ...(a.highest_loss ?? []).map((r) => r.values?.length ?? 0));
  const valueHead = [];
  for (let i = 0; i < width; i++) valueHead.push(el('th', { scope: 'col', class: 'value-col' }, columnNames[i] ?? `column ${i + 1}`));
  const lossRows = (a.highest_loss ?? []).length
    ? table({
        head: ['row', 'line', 'label', 'model says', 'p(label)', 'p(model’s class)', 'loss', 'flagged', ...valueHead],
        rows: a.highest_loss.map((r) =>
          el(
            'tr',
            { testid: 'loss-row', class: r.label_issue ? 'flagged' : '', dataset: { row: r.row, line: r.line, loss: r.loss } },
            el('td', { class: 'num' }, String(r.row)),
            el('td', { class: 'num' }, String(r.line)),
            el('td', { class: 'label' }, className(r.label)),
            el('td', { class: 'suggested' }, className(r.predicted)),
            el('td', { class: 'num' }, formatNumber(r.label_probability, 3)),
            el('td', { class: 'num' }, formatNumber(r.predicted_probability, 3)),
            el('td', { class: 'num' }, formatNumber(r.loss, 3)),
            el('td', {}, r.label_issue ? 'label error?' : ''),
            (r.values ?? []).map((v) => el('td', { class: 'value-cell' }, v)),
          ),
        ),
        className: 'data-table rows-table',
        caption: 'Highest loss −ln p(label) first: the rows the model finds least likely under their label',
      })
    : null;
  return section(
    'prediction-audit',
    'Model predictions',
    stats,
    facts,
    confusion,
    perClass,
    el('h3', {}, 'Where the model fails'),
    el('p', { class: 'muted method' }, a.slice_method),
    slices,
    el('h3', {}, 'Highest-loss rows'),
    lossRows,
    el('p', { class: 'muted method' }, `${cl.method ?? ''}. ${cl.quality_score ?? ''}.`),
  );
}

/**
 * compute.wasm_memory_bytes ({coordinator, workers, peak, total}, added by
 * the page's worker) as one line; undefined when absent.
 */
function wasmMemoryText(memory) {
  if (!memory || !Number.isFinite(Number(memory.peak))) return undefined;
  const workers = Array.isArray(memory.workers) ? memory.workers : [];
  if (workers.length === 0) return formatBytes(memory.peak);
  return `${formatBytes(memory.peak)} (checks ${formatBytes(memory.coordinator)}; ${workers.length} part workers ${workers.map(formatBytes).join(', ')}; all together ${formatBytes(memory.total)})`;
}

function computeSection(report) {
  const c = report.compute ?? {};
  const timings = Object.entries(c.timings_ms ?? {});
  // Stages that ran at the same time (compute.concurrent_ms) count once.
  const total = timings.reduce((sum, [, ms]) => sum + Number(ms), 0) - (Number(c.concurrent_ms) || 0);
  return section(
    'compute',
    'Compute',
    el('div', { class: 'stats' }, stat('stat-backend', 'backend', c.backend, c.backend === 'gpu' ? 'GPU' : c.backend === 'cpu' ? 'CPU' : c.backend ?? '–')),
    definitionList([
      ['Adapter', c.adapter === undefined || c.adapter === null ? undefined : c.adapter === '' ? '(the browser does not name it)' : c.adapter, 'compute-adapter'],
      ['Note', c.note ?? undefined, 'compute-note'],
      ['Peak wasm memory', wasmMemoryText(c.wasm_memory_bytes), 'compute-wasm-memory'],
      ['Tool', report.tool ? `${report.tool.name} ${report.tool.version}` : undefined],
      ['Report schema', report.schema_version !== undefined ? String(report.schema_version) : undefined],
    ]),
    timings.length
      ? table({
          head: ['stage', 'time'],
          rows: [
            ...timings.map(([stage, ms]) => el('tr', { dataset: { stage } }, el('td', {}, humanise(stage)), el('td', { class: 'num' }, formatMs(ms)))),
            el('tr', { class: 'total' }, el('td', {}, 'total'), el('td', { class: 'num' }, formatMs(total))),
          ],
          className: 'data-table timings',
          testid: 'timings',
        })
      : null,
  );
}

/** A text as pieces, the changed ones in <mark class="diff">. */
function diffText(pieces) {
  return pieces.map((p) => (p.changed ? el('mark', { class: 'diff' }, p.text) : p.text));
}

/**
 * One near-duplicate group: its texts side by side, each compared word by
 * word with the group's first text (the first text with the second), the
 * differences highlighted.
 */
function nearTextGroup(group, index, column) {
  const texts = group.texts ?? [];
  const reference = texts[0]?.text ?? '';
  const cards = texts.map((t, i) => {
    const pieces = i === 0 ? wordDiff(reference, texts[1]?.text ?? reference).a : wordDiff(reference, t.text).b;
    return el(
      'figure',
      { class: 'text-card', testid: 'text-dup-text', dataset: { row: t.row, line: t.line } },
      el('figcaption', {}, `row ${t.row} (line ${t.line})`, i === 0 ? el('span', { class: 'muted' }, ' · compared with the next text') : el('span', { class: 'muted' }, ` · compared with row ${texts[0].row}`)),
      el('p', { class: 'text-body' }, diffText(pieces)),
    );
  });
  const jaccard = group.min_jaccard === group.max_jaccard ? formatNumber(group.min_jaccard, 3) : `${formatNumber(group.min_jaccard, 3)}–${formatNumber(group.max_jaccard, 3)}`;
  return el(
    'div',
    { class: 'text-group', testid: 'text-near-group', dataset: { column, rows: group.rows.join(' '), size: group.size, minJaccard: group.min_jaccard, maxJaccard: group.max_jaccard } },
    el('h5', {}, `Group ${index + 1}: ${formatInt(group.size)} rows, ${formatInt(group.distinct_texts)} distinct texts, Jaccard ${jaccard}`),
    el('p', { class: 'group-rows' }, rowIdList(group.rows, group.lines, group.size)),
    el('div', { class: 'text-compare' }, cards),
    group.distinct_texts > texts.length ? emptyNote(`The first ${texts.length} of ${formatInt(group.distinct_texts)} distinct texts are shown.`) : null,
  );
}

/** Exact and near duplicate texts, per free-text column (report.text_duplicates). */
function textDuplicatesSection(report) {
  const columns = report.text_duplicates ?? [];
  if (columns.length === 0) {
    return section('text-duplicates', 'Text duplicates', emptyNote('No free-text column was found or chosen (the command line takes --text COL), so no text was compared.'));
  }
  const parts = columns.map((t) => {
    const exact = t.exact ?? {};
    const near = t.near ?? {};
    const exactRows = (exact.groups ?? []).map((g, i) =>
      el(
        'tr',
        { testid: 'text-exact-group', dataset: { column: t.column, rows: g.rows.join(' '), size: g.size } },
        el('td', { class: 'num' }, String(i + 1)),
        el('td', { class: 'num' }, formatInt(g.size)),
        el('td', {}, rowIdList(g.rows, g.lines, g.size)),
        el('td', { class: 'value-cell' }, g.texts?.[0]?.text ?? ''),
      ),
    );
    return el(
      'div',
      { class: 'text-column', testid: 'text-duplicates', dataset: { column: t.column, engine: t.engine } },
      el('h3', {}, `Column “${t.column}”`),
      el(
        'div',
        { class: 'stats' },
        stat('stat-text-exact-groups', 'identical-text groups', exact.group_count),
        stat('stat-text-exact-redundant', 'redundant rows (identical text)', exact.redundant_rows),
        stat('stat-text-near-groups', 'near-duplicate groups', near.group_count),
        stat('stat-text-near-rows', 'rows in near-duplicate groups', near.rows_in_groups),
      ),
      definitionList([
        ['Why this column', t.reason],
        ['Rows with text', `${formatInt(t.rows_with_text)} (${formatInt(t.distinct_texts)} distinct after normalisation, ${formatInt(t.short_texts)} shorter than a shingle)`],
        ['Normalisation', t.normalization],
        ['Parameters', `character ${t.shingle_size}-grams, ${t.permutations} MinHash values, ${t.bands} bands × ${t.rows_per_band} rows, Jaccard ≥ ${formatNumber(t.threshold)}`, 'text-parameters'],
        ['Candidate pairs', `${formatInt(t.candidate_pairs)} from LSH, ${formatInt(t.verified_pairs)} verified${t.unverified_pairs ? `, ${formatInt(t.unverified_pairs)} left unverified (already joined)` : ''}`],
        ['MinHash computed on', t.engine === 'gpu' ? 'GPU' : 'CPU', 'text-engine'],
        ['Note', t.engine_note ?? undefined],
      ]),
      el('p', { class: 'muted method' }, t.method),
      el('h4', {}, 'Identical texts'),
      exactRows.length ? table({ head: ['#', 'size', 'rows (file line)', 'text'], rows: exactRows }) : emptyNote('No two rows hold the same text.'),
      exact.group_count > (exact.groups?.length ?? 0) ? groupsNotListedNote(exact.groups.length, exact.group_count) : null,
      el('h4', {}, 'Near-duplicate texts'),
      near.groups?.length ? near.groups.map((g, i) => nearTextGroup(g, i, t.column)) : emptyNote('No near-duplicate texts.'),
      near.group_count > (near.groups?.length ?? 0) ? groupsNotListedNote(near.groups.length, near.group_count) : null,
    );
  });
  return section('text-duplicates', 'Text duplicates', ...parts);
}

// ---------------------------------------------------------------- label audits

/** Every column as an option of the annotator multi-select; app.js wires its Apply button. */
function annotatorPicker(report) {
  const agreement = report.annotator_agreement;
  const label = report.class_balance?.label_column ?? null;
  const chosen = new Set(agreement?.annotators ?? []);
  const select = el(
    'select',
    { id: 'annotator-select', testid: 'annotator-select', multiple: true, size: Math.min(6, Math.max(2, (report.columns ?? []).length)), 'aria-label': 'Annotator columns' },
    (report.columns ?? []).map((c) =>
      el(
        'option',
        { value: c.name, selected: chosen.has(c.name) && c.name !== label, disabled: c.name === label },
        c.name === label ? `${c.name} (the label column: counts as one)` : `${c.name} (${c.type})`,
      ),
    ),
  );
  return el(
    'div',
    { class: 'annotator-picker' },
    el('label', { for: 'annotator-select' }, 'Annotator columns '),
    select,
    el('button', { type: 'button', class: 'secondary', testid: 'annotator-apply' }, 'Re-check agreement'),
    el('span', { class: 'muted' }, ' the label column counts as one; none selected: detect them; re-runs the checks on the rows already read'),
  );
}

function kappaText(value) {
  return value === null || value === undefined ? 'undefined' : Number(value).toFixed(3);
}

/**
 * The confusion matrix of one annotator pair as an SVG heat map: rows are
 * the first annotator's classes, columns the second's; a cell's opacity is
 * its count over the largest cell, agreement (the diagonal) in one colour,
 * disagreement in another. Every cell has a title (screen readers, hover).
 */
function confusionHeatmap(pair, classes) {
  const k = classes.length;
  const cell = k > 20 ? 22 : 40;
  const short = (name) => {
    const full = className(name);
    return full.length > 14 ? `${full.slice(0, 13)}…` : full;
  };
  // Room for the longest class name: across on the left, at 45° on top.
  const longest = Math.max(1, ...classes.map((c) => short(c).length));
  const left = 16 + longest * 7;
  const top = 16 + Math.ceil(longest * 5);
  const width = left + k * cell + 8 + top;
  const height = top + k * cell + 8;
  const max = Math.max(1, ...pair.confusion.flat().map(Number));
  const total = pair.confusion.flat().reduce((s, v) => s + Number(v), 0);
  const root = svg('svg', {
    class: 'confusion-heatmap',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Confusion matrix: ${pair.first} (rows) against ${pair.second} (columns)`,
    testid: 'confusion-heatmap',
    dataset: { first: pair.first, second: pair.second },
  });
  root.append(svg('title', {}, `Confusion matrix: rows are ${pair.first}'s classes, columns ${pair.second}'s; darker = more rows`));
  classes.forEach((c, i) => {
    root.append(
      svg('text', { class: 'heatmap-label', x: left - 6, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end' }, short(c)),
      svg('text', { class: 'heatmap-label', x: left + i * cell + cell / 2, y: top - 6, transform: `rotate(-45 ${left + i * cell + cell / 2} ${top - 6})` }, short(c)),
    );
  });
  pair.confusion.forEach((row, i) => {
    row.forEach((value, j) => {
      const count = Number(value);
      const x = left + j * cell;
      const y = top + i * cell;
      const opacity = count > 0 ? Math.max(0.08, count / max) : 0;
      const rect = svg('rect', {
        class: `heatmap-cell ${i === j ? 'agree' : 'disagree'}`,
        x,
        y,
        width: cell - 2,
        height: cell - 2,
        'fill-opacity': opacity.toFixed(3),
        testid: 'confusion-cell',
        dataset: { first: classes[i], second: classes[j], count },
      });
      rect.append(svg('title', {}, `${pair.first}: ${className(classes[i])}, ${pair.second}: ${className(classes[j])}: ${formatInt(count)} rows (${formatPercent(total ? count / total : 0)})`));
      root.append(rect, svg('rect', { class: 'heatmap-frame', x, y, width: cell - 2, height: cell - 2 }));
      if (k <= 20) {
        root.append(svg('text', { class: `heatmap-count${opacity > 0.55 ? ' on-dark' : ''}`, x: x + (cell - 2) / 2, y: y + cell / 2 + 3, 'text-anchor': 'middle' }, formatInt(count)));
      }
    });
  });
  return root;
}

/** The heat map of a chosen pair (a select when there are several). */
function confusionBlock(a) {
  const pairs = (a.pairs ?? []).filter((p) => (p.confusion ?? []).length > 0);
  if (pairs.length === 0) return a.confusion_note ? emptyNote(`No confusion matrix: ${a.confusion_note}.`) : null;
  const axes = (p) => el('p', { class: 'muted', testid: 'confusion-axes' }, `Rows: ${p.first}'s class; columns: ${p.second}'s. Green: they agree; red: they disagree; darker: more rows.`);
  const holder = el('div', { class: 'heatmap-holder' }, axes(pairs[0]), confusionHeatmap(pairs[0], a.classes ?? []));
  let picker = null;
  if (pairs.length > 1) {
    const select = el(
      'select',
      { id: 'confusion-pair-select', testid: 'confusion-pair-select', 'aria-label': 'Annotator pair of the confusion matrix' },
      pairs.map((p, i) => el('option', { value: String(i) }, `${p.first} × ${p.second}`)),
    );
    select.addEventListener('change', () => {
      const pair = pairs[Number(select.value)];
      holder.replaceChildren(axes(pair), confusionHeatmap(pair, a.classes ?? []));
    });
    picker = el('p', {}, el('label', { for: 'confusion-pair-select' }, 'Pair '), select);
  }
  return el('div', { class: 'confusion' }, el('h3', {}, 'Confusion between annotators'), picker, holder);
}

function annotatorAgreementSection(report) {
  const a = report.annotator_agreement;
  if (!a) {
    return section(
      'annotator-agreement',
      'Annotator agreement',
      annotatorPicker(report),
      emptyNote('No annotator columns: choose two or more above (the label column counts as one), or name them like annotator_1, rater_b, label_2.'),
    );
  }
  const names = a.annotators ?? [];
  const classes = a.classes ?? [];
  const stats = el(
    'div',
    { class: 'stats' },
    stat('stat-percent-agreement', 'rows where all agree', a.percent_agreement, formatPercent(a.percent_agreement)),
    names.length === 2 ? stat('stat-cohen-kappa', "Cohen's kappa", a.cohen_kappa, kappaText(a.cohen_kappa)) : null,
    stat('stat-fleiss-kappa', "Fleiss' kappa", a.fleiss_kappa, kappaText(a.fleiss_kappa)),
    a.mean_pairwise_kappa !== undefined ? stat('stat-mean-pairwise-kappa', 'mean pairwise kappa', a.mean_pairwise_kappa, kappaText(a.mean_pairwise_kappa)) : null,
    stat('stat-rows-compared', 'rows labelled by all', a.rows_compared),
    stat('stat-annotator-disagreements', 'rows they disagree on', a.disagreement_rows),
    stat('stat-rows-left-out', 'rows left out (a value missing)', a.rows_missing),
  );
  const pairs =
    names.length > 2
      ? table({
          head: ['pair', 'rows', 'agreement', "Cohen's kappa"],
          rows: (a.pairs ?? []).map((p) =>
            el('tr', { testid: 'annotator-pair', dataset: { first: p.first, second: p.second } }, el('td', {}, `${p.first} × ${p.second}`), el('td', { class: 'num' }, formatInt(p.rows)), el('td', { class: 'num' }, formatPercent(p.agreement)), el('td', { class: 'num' }, kappaText(p.cohen_kappa))),
          ),
          caption: 'Each pair, on the rows both labelled',
        })
      : null;
  const perClass = table({
    head: ['class', ...names.map((n) => `given by ${n}`), 'rows any gave it', 'rows all gave it', 'specific agreement'],
    rows: (a.per_class ?? []).map((c) =>
      el(
        'tr',
        { testid: 'class-agreement', dataset: { class: c.class, specific: c.specific_agreement ?? '' } },
        el('td', {}, className(c.class)),
        (c.uses ?? []).map((u) => el('td', { class: u === 0 ? 'num never-used' : 'num' }, formatInt(u))),
        el('td', { class: 'num' }, formatInt(c.rows_any)),
        el('td', { class: 'num' }, `${formatInt(c.rows_all)} (${formatPercent(c.share_all)})`),
        el('td', { class: 'num' }, c.specific_agreement === null || c.specific_agreement === undefined ? '–' : formatPercent(c.specific_agreement)),
      ),
    ),
    caption: 'Per class (a 0 in a "given by" column: that annotator never used the class)',
  });
  const listed = a.disagreements ?? [];
  const disagreements = listed.length
    ? table({
        head: ['row', 'line', ...names],
        rows: listed.map((d) => el('tr', { testid: 'disagreement-row', dataset: { row: d.row, line: d.line } }, el('td', { class: 'num' }, String(d.row)), el('td', { class: 'num' }, String(d.line)), (d.values ?? []).map((v) => el('td', {}, className(v))))),
        caption: `Rows where the annotators disagree${a.disagreement_rows > listed.length ? ` (the first ${listed.length} of ${formatInt(a.disagreement_rows)}; all are marked in the per-row CSV, column annotator_disagreement)` : ' (also marked in the per-row CSV, column annotator_disagreement)'}`,
      })
    : emptyNote('The annotators agree on every row they all labelled.');
  return section(
    'annotator-agreement',
    'Annotator agreement',
    annotatorPicker(report),
    definitionList([
      ['Annotators', names.join(', '), 'annotator-names'],
      ['Why these', a.reason],
      ['Classes', classes.map(className).join(', ')],
    ]),
    stats,
    el('p', { class: 'muted method' }, a.method),
    pairs,
    perClass,
    confusionBlock(a),
    el('h3', {}, 'Disagreements'),
    disagreements,
  );
}

/** The verified column chooser; app.js wires its change event. */
function verifiedPicker(report) {
  const current = report.review?.verified?.column ?? '';
  const select = el(
    'select',
    { id: 'verified-select', testid: 'verified-select', 'aria-label': 'Verified-labels column' },
    el('option', { value: '', selected: current === '' }, '(detect automatically)'),
    (report.columns ?? []).map((c) => el('option', { value: c.name, selected: c.name === current }, `${c.name} (${c.type})`)),
  );
  return el('p', { class: 'verified-picker' }, el('label', { for: 'verified-select' }, 'Verified-labels column '), select);
}

/** Review sample settings: app.js reads them when "Draw again" is pressed. */
function reviewControls(sample) {
  const input = (id, testid, label, attrs) =>
    el('span', { class: 'review-option' }, el('label', { for: id }, label), el('input', { id, testid, type: 'number', inputmode: 'decimal', autocomplete: 'off', ...attrs }));
  return el(
    'div',
    { class: 'review-controls' },
    input('review-per-class', 'review-per-class', 'rows per class ', { min: 1, step: 1, value: sample?.per_class ?? '', placeholder: '20' }),
    input('review-fraction', 'review-fraction', ' or share of each class ', { min: 0, max: 1, step: 'any', value: sample?.fraction ?? '', placeholder: '0.05' }),
    input('review-seed', 'review-seed', ' seed ', { min: 0, step: 1, value: sample?.seed ?? 42 }),
    input('review-enrich', 'review-enrich', ' plus rows most likely mislabelled ', { min: 0, step: 1, value: sample?.enrich_requested ?? 0 }),
    el('button', { type: 'button', class: 'secondary', testid: 'review-redraw' }, 'Draw again'),
  );
}

function reviewSection(report) {
  const r = report.review;
  const sample = r?.sample;
  const verified = r?.verified;
  const parts = [];
  if (sample) {
    const classes = Object.entries(sample.classes ?? {});
    parts.push(
      el('h3', {}, 'Review sample'),
      el(
        'div',
        { class: 'stats' },
        stat('stat-review-size', 'rows to review', sample.size),
        stat('stat-review-enriched', 'likely mislabelled among them', sample.enriched),
        stat('stat-review-seed', 'seed', sample.seed, String(sample.seed)),
      ),
      el(
        'p',
        { class: 'muted method', testid: 'review-method' },
        `${sample.method === 'fraction' ? `${formatPercent(sample.fraction)} of each class (at least one row)` : `up to ${formatInt(sample.per_class)} rows of each class of ${r.label_column}`}, drawn by a shuffle seeded with ${sample.seed} (the same seed gives the same rows). Enrichment: ${sample.enrichment}.${sample.rows_without_label ? ` ${formatInt(sample.rows_without_label)} rows without a label are not sampled.` : ''} Download it below ("Download review sample"): row ids, lines, the current label and an empty reviewer_label column.`,
      ),
      classes.length ? table({ head: ['class', 'rows in the sample'], rows: classes.map(([c, n]) => el('tr', { testid: 'review-class', dataset: { class: c, count: n } }, el('td', {}, className(c)), el('td', { class: 'num' }, formatInt(n)))) }) : null,
      reviewControls(sample),
    );
  } else {
    parts.push(emptyNote('No review sample: it is drawn by class, and there is no label column.'));
  }
  parts.push(el('h3', {}, 'Verified labels'), verifiedPicker(report));
  if (verified) {
    parts.push(
      el('div', { class: 'stats' }, stat('stat-verified-share', `rows verified (${verified.column})`, verified.share, formatPercent(verified.share)), stat('stat-verified-rows', 'rows verified', verified.verified)),
      el('p', { class: 'muted' }, `${verified.reason}. ${verified.missing ? `${formatInt(verified.missing)} rows have no value and ` : ''}${verified.not_boolean ? `${formatInt(verified.not_boolean)} rows hold neither true/false nor 1/0; they ` : ''}${verified.missing || verified.not_boolean ? 'count as not verified.' : ''}`),
      verified.per_class?.length
        ? table({
            head: ['class', 'rows', 'verified', 'share'],
            rows: verified.per_class.map((c) => el('tr', { testid: 'verified-class', dataset: { class: c.class, share: c.share } }, el('td', {}, className(c.class)), el('td', { class: 'num' }, formatInt(c.rows)), el('td', { class: 'num' }, formatInt(c.verified)), el('td', { class: 'num' }, formatPercent(c.share)))),
          })
        : null,
    );
  } else {
    parts.push(emptyNote('No verified-labels column found (a true/false or 1/0 column named like verified or reviewed): choose one above to see the share of rows verified.'));
  }
  return section('review', 'Review and verified labels', ...parts);
}

/** Builds the whole report as a DocumentFragment. */
export function renderReport(report) {
  const columnNames = (report.columns ?? []).map((c) => c.name);
  const fragment = document.createDocumentFragment();
  append(fragment, [
    verdictBanner(report),
    overviewSection(report),
    columnsSection(report),
    duplicatesSection(report),
    textDuplicatesSection(report),
    classBalanceSection(report),
    conflictsSection(report, columnNames),
    outliersSection(report, columnNames),
    labelIssuesSection(report, columnNames),
    predictionAuditSection(report, columnNames),
    annotatorAgreementSection(report),
    reviewSection(report),
    piiSection(report),
    embeddingSection(report),
    computeSection(report),
  ]);
  return fragment;
}

// ---------------------------------------------------------------- personal data

/** What the PII scan found: per column and kind, masked examples; column names. */
function piiSection(report) {
  const p = report.pii;
  if (!p) return section('pii', 'Personal data', emptyNote('This report has no personal data scan.'));
  const findings = p.columns ?? [];
  const hints = p.name_hints ?? [];
  const parts = [
    el(
      'div',
      { class: 'stats' },
      stat('stat-pii-values', 'values scanned', p.values_scanned),
      stat('stat-pii-findings', 'column and kind findings', findings.length),
      stat('stat-pii-hints', 'columns named like personal data', hints.length),
    ),
    el(
      'p',
      { class: 'muted method' },
      'Every value of every column scanned for email addresses, phone numbers, payment cards (issuer, length, Luhn), IBANs (mod 97), US social security numbers and IP addresses. Values quoted anywhere in this report from these columns are masked.',
    ),
  ];
  if (findings.length) {
    const rows = findings.map((f) =>
      el(
        'tr',
        { testid: 'pii-finding', dataset: { column: f.column, kind: f.kind, count: f.count } },
        el('td', {}, el('strong', {}, f.column)),
        el('td', {}, humanise(f.kind)),
        el('td', { class: 'num' }, formatInt(f.count)),
        el('td', { class: 'num' }, formatPercent(f.share)),
        el('td', { class: 'pii-examples' }, (f.examples ?? []).map((e, i) => [i ? ', ' : '', el('code', {}, e)])),
      ),
    );
    parts.push(table({ head: ['column', 'kind', 'values', 'share', 'examples (masked)'], rows, testid: 'pii-findings' }));
  } else {
    parts.push(emptyNote('No personal data found in the values.'));
  }
  if (hints.length) {
    const rows = hints.map((h) =>
      el(
        'tr',
        { testid: 'pii-hint', dataset: { column: h.column, kind: h.kind } },
        el('td', {}, el('strong', {}, h.column)),
        el('td', {}, humanise(h.kind)),
        el('td', { class: 'muted' }, h.reason),
      ),
    );
    parts.push(table({ head: ['column', 'named like', 'why'], rows, testid: 'pii-hints' }));
  }
  return section('pii', 'Personal data', ...parts);
}

// ---------------------------------------------------------------- comparison

/**
 * Both distributions of a drifted column on their shared bins, overlaid:
 * reference bars filled, candidate bars outlined (shares, not counts).
 */
function overlaidHistogramSvg(histogram, columnName) {
  const bins = histogram?.bins ?? [];
  const reference = (histogram?.reference ?? []).map(Number);
  const candidate = (histogram?.candidate ?? []).map(Number);
  if (bins.length === 0) return null;
  const width = 160;
  const height = 40;
  const barWidth = width / bins.length;
  const top = Math.max(1e-12, ...reference, ...candidate);
  const root = svg('svg', {
    class: 'histogram overlaid',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Distributions of ${columnName} in the reference and the candidate`,
    testid: 'drift-histogram',
    dataset: { column: columnName, bins: bins.length },
  });
  const range = histogram.upper !== undefined && histogram.upper !== null ? ` from ${bins[0]} to ${formatNumber(histogram.upper)}` : '';
  root.append(svg('title', {}, `${columnName}: reference (filled) and candidate (outlined), ${bins.length} bins${range}`));
  const bars = (values, className) => {
    values.forEach((share, i) => {
      const h = share > 0 ? Math.max(1, (share / top) * (height - 1)) : 0;
      const rect = svg('rect', {
        class: className,
        x: (i * barWidth + 0.5).toFixed(2),
        y: (height - h).toFixed(2),
        width: Math.max(0.5, barWidth - 1).toFixed(2),
        height: h.toFixed(2),
      });
      const upper = i + 1 < bins.length ? bins[i + 1] : histogram.upper !== undefined && histogram.upper !== null ? formatNumber(histogram.upper) : null;
      const label = upper === null ? String(bins[i]) : `${bins[i]} – ${upper}`;
      rect.append(svg('title', {}, `${className === 'bar-reference' ? 'reference' : 'candidate'} ${label}: ${formatPercent(share)}`));
      root.append(rect);
    });
  };
  bars(reference, 'bar-reference');
  bars(candidate, 'bar-candidate');
  root.append(svg('line', { class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }));
  return root;
}

function nameList(names, testid) {
  if (!names || names.length === 0) return el('span', { class: 'muted', testid }, 'none');
  return el('span', { testid }, names.join(', '));
}

function compareOverviewSection(report) {
  const c = report.comparison;
  const leakage = c.leakage ?? {};
  const flagged = (c.drift ?? []).filter((d) => d.flagged).length;
  const dataset = c.dataset_drift;
  return section(
    'compare-overview',
    'Comparison',
    definitionList([
      ['Reference', `${c.reference} (${formatInt(c.reference_rows)} rows)`, 'compare-reference-name'],
      ['Candidate', `${c.candidate} (${formatInt(c.candidate_rows)} rows)`, 'compare-candidate-name'],
    ]),
    el(
      'div',
      { class: 'stats' },
      stat('stat-reference-rows', 'reference rows', c.reference_rows),
      stat('stat-candidate-rows', 'candidate rows', c.candidate_rows),
      stat('stat-leakage-exact', 'candidate rows copying a reference row', leakage.exact_rows),
      stat('stat-leakage-ignoring-ids', 'copies, identifiers ignored', leakage.exact_rows_ignoring_identifiers),
      stat('stat-leakage-near', 'near copies', leakage.near_rows),
      stat('stat-drifted-columns', 'columns drifted', flagged),
      stat('stat-dataset-drift', 'whole-dataset drift score', dataset ? dataset.score : null, dataset ? formatNumber(dataset.score, 3) : '–'),
    ),
  );
}

function schemaSection(report) {
  const s = report.comparison.schema ?? {};
  const children = [
    definitionList([
      ['Shared columns', nameList(s.shared, 'schema-shared')],
      ['Only in the candidate (added)', nameList(s.added, 'schema-added')],
      ['Only in the reference (removed)', nameList(s.removed, 'schema-removed')],
    ]),
  ];
  if (s.type_changed?.length) {
    children.push(
      table({
        caption: 'Type changed',
        head: ['column', 'reference type', 'candidate type'],
        rows: s.type_changed.map((t) => el('tr', { testid: 'type-change-row', dataset: { column: t.column } }, el('td', {}, t.column), el('td', {}, String(t.reference_type)), el('td', {}, String(t.candidate_type)))),
        testid: 'type-changes',
      }),
    );
  }
  if (s.renamed?.length) {
    children.push(
      table({
        caption: 'Possibly renamed (a suggestion: the values look alike)',
        head: ['reference column', 'candidate column', 'evidence'],
        rows: s.renamed.map((r) => el('tr', { testid: 'rename-row' }, el('td', {}, r.reference_column), el('td', {}, r.candidate_column), el('td', {}, r.evidence))),
        testid: 'renames',
      }),
    );
  }
  if (!s.added?.length && !s.removed?.length && !s.type_changed?.length) children.push(emptyNote('Both files have the same columns with the same types.'));
  return section('schema', 'Schema differences', ...children);
}

function leakageSection(report) {
  const c = report.comparison;
  const l = c.leakage ?? {};
  const children = [
    el('p', { class: 'muted' }, l.method ?? ''),
    definitionList([
      ['Exact copies of a reference row', `${formatInt(l.exact_rows)} (${formatPercent(l.exact_share)} of the candidate)`, 'leakage-exact'],
      [
        'Copies with identifier-like columns left out',
        `${formatInt(l.exact_rows_ignoring_identifiers)} (${formatPercent(l.exact_share_ignoring_identifiers)})${l.identifier_columns?.length ? `, ignoring ${l.identifier_columns.join(', ')}` : ', no identifier-like column'}`,
        'leakage-ignoring-ids',
      ],
      ['Near copies', l.near_rows === null || l.near_rows === undefined ? 'not computed' : `${formatInt(l.near_rows)} (${l.near_method ?? ''})`, 'leakage-near'],
    ]),
  ];
  const pairs = l.pairs ?? [];
  if (pairs.length) {
    // The values are the candidate row's, in the candidate's column order.
    const columns = (report.candidate?.columns ?? []).map((col) => col.name);
    children.push(
      table({
        caption: 'Example pairs (row ids from 0 after the header; lines from 1)',
        head: ['kind', 'reference row', 'candidate row', 'distance', ...columns.map((name) => el('th', { scope: 'col', class: 'value-col' }, name))],
        rows: pairs.map((p) =>
          el(
            'tr',
            { testid: 'leak-pair', dataset: { kind: p.kind, referenceRow: p.reference_row, referenceLine: p.reference_line, candidateRow: p.candidate_row, candidateLine: p.candidate_line } },
            el('td', {}, humanise(p.kind)),
            el('td', { class: 'num' }, `row ${p.reference_row} (line ${p.reference_line})`),
            el('td', { class: 'num' }, `row ${p.candidate_row} (line ${p.candidate_line})`),
            el('td', { class: 'num' }, p.distance === undefined || p.distance === null ? '' : formatNumber(p.distance)),
            (p.values ?? []).map((v) => el('td', { class: 'value-cell' }, v)),
          ),
        ),
        testid: 'leak-pairs',
      }),
    );
  } else {
    children.push(emptyNote('No candidate row copies a reference row.'));
  }
  children.push(...textLeakageBlocks(c.text_leakage ?? []));
  return section('leakage', 'Leakage: candidate rows found in the reference', ...children);
}

// Candidate texts that copy or nearly copy a reference text, per free-text
// column (text MinHash across the two files). Text goes in as text nodes only.
function textLeakageBlocks(columns) {
  return columns.map((t) => {
    const pairs = t.pairs ?? [];
    return el(
      'div',
      { class: 'text-leakage', testid: 'text-leakage', dataset: { column: t.column, exactRows: t.exact_rows, nearRows: t.near_rows } },
      el('h3', {}, `Texts of “${t.column}” found in the reference`),
      el('p', { class: 'muted' }, t.method ?? ''),
      definitionList([
        ['Exact text copies', `${formatInt(t.exact_rows)}`, 'text-leakage-exact'],
        ['Near text copies', `${formatInt(t.near_rows)} (Jaccard ≥ ${t.threshold})`, 'text-leakage-near'],
        ['Share of the candidate', formatPercent(t.share), 'text-leakage-share'],
        ['MinHash on the', `${(t.engine ?? '').toUpperCase()}${t.engine_note ? ` (${t.engine_note})` : ''}`, 'text-leakage-engine'],
      ]),
      pairs.length
        ? table({
            caption: 'Example text pairs (row ids from 0 after the header; lines from 1)',
            head: ['kind', 'reference row', 'candidate row', 'Jaccard', 'reference text', 'candidate text'],
            rows: pairs.map((p) =>
              el(
                'tr',
                { testid: 'text-leak-pair', dataset: { kind: p.kind, referenceRow: p.reference_row, candidateRow: p.candidate_row } },
                el('td', {}, humanise(p.kind)),
                el('td', { class: 'num' }, `row ${p.reference_row} (line ${p.reference_line})`),
                el('td', { class: 'num' }, `row ${p.candidate_row} (line ${p.candidate_line})`),
                el('td', { class: 'num' }, formatNumber(p.jaccard, 3)),
                el('td', { class: 'value-cell' }, p.reference_text ?? ''),
                el('td', { class: 'value-cell' }, p.candidate_text ?? ''),
              ),
            ),
            testid: 'text-leak-pairs',
          })
        : emptyNote('No candidate text copies a reference text.'),
    );
  });
}

function optionalNumber(value) {
  return value === undefined || value === null ? '' : formatNumber(value);
}

function driftSection(report) {
  const c = report.comparison;
  const drift = c.drift ?? [];
  const t = c.thresholds ?? {};
  const children = [
    el(
      'p',
      { class: 'muted' },
      `Ranked by score: the largest statistic divided by its limit (above 1 is beyond a limit). Limits: KS ${formatNumber(t.ks)} with p < ${formatNumber(t.alpha)}, PSI ${formatNumber(t.psi)}, JS ${formatNumber(t.js)}, missing-rate change ${formatNumber(t.missing_change)}. Charts: reference filled, candidate outlined.`,
    ),
  ];
  if (drift.length) {
    children.push(
      table({
        head: ['#', 'column', 'kind', 'statistic', 'value', 'score', 'flagged', 'KS', 'KS p', 'PSI', 'JS', 'χ² p', 'missing (ref → cand)', 'categories', 'distributions'],
        rows: drift.map((d, i) => {
          const categories = [];
          if (d.new_categories?.length) categories.push(`new: ${d.new_categories.join(', ')}`);
          if (d.vanished_categories?.length) categories.push(`vanished: ${d.vanished_categories.join(', ')}`);
          return el(
            'tr',
            { testid: 'drift-row', class: d.flagged ? 'flagged' : '', dataset: { column: d.column, rank: i + 1, flagged: String(Boolean(d.flagged)), score: d.score } },
            el('td', { class: 'num' }, String(i + 1)),
            el('td', { class: 'column-name' }, d.column),
            el('td', {}, d.kind),
            el('td', {}, humanise(d.statistic)),
            el('td', { class: 'num' }, formatNumber(d.value)),
            el('td', { class: 'num' }, formatNumber(d.score, 3)),
            el('td', { class: d.flagged ? 'flag' : '' }, d.flagged ? 'drifted' : 'no'),
            el('td', { class: 'num' }, optionalNumber(d.ks)),
            el('td', { class: 'num' }, optionalNumber(d.ks_p_value)),
            el('td', { class: 'num' }, optionalNumber(d.psi)),
            el('td', { class: 'num' }, optionalNumber(d.js_distance)),
            el('td', { class: 'num' }, optionalNumber(d.chi_square_p_value)),
            el('td', { class: 'num' }, `${formatPercent(d.missing_reference)} → ${formatPercent(d.missing_candidate)}`),
            el('td', {}, categories.join('; ')),
            el('td', {}, overlaidHistogramSvg(d.histogram, d.column)),
          );
        }),
        testid: 'drift-table',
      }),
    );
  } else {
    children.push(emptyNote('No shared column to compare.'));
  }
  if (c.drift_not_computed?.length) {
    children.push(
      el('p', { class: 'muted' }, 'Not compared: '),
      el('ul', { testid: 'drift-not-computed' }, c.drift_not_computed.map((x) => el('li', {}, el('strong', {}, x.column), `: ${x.reason}`))),
    );
  }
  const shift = c.label_shift;
  if (shift) {
    const classes = [...new Set([...Object.keys(shift.reference ?? {}), ...Object.keys(shift.candidate ?? {})])];
    children.push(
      table({
        caption: `Label shift of ${shift.column}: JS distance ${formatNumber(shift.js_distance)}${shift.flagged ? ' (beyond the limit)' : ''}`,
        head: ['class', 'reference share', 'candidate share'],
        rows: classes.map((k) => el('tr', { testid: 'label-shift-row', dataset: { class: k } }, el('td', {}, k), el('td', { class: 'num' }, formatPercent(shift.reference?.[k] ?? 0)), el('td', { class: 'num' }, formatPercent(shift.candidate?.[k] ?? 0)))),
        testid: 'label-shift',
      }),
    );
  }
  return section('drift', 'Drift per column', ...children);
}

function datasetDriftSection(report) {
  const d = report.comparison.dataset_drift;
  if (!d) return section('dataset-drift', 'Whole-dataset drift', emptyNote('Not computed (no embedding of both sets could be built).'));
  return section(
    'dataset-drift',
    'Whole-dataset drift',
    el('p', { class: 'muted' }, d.method),
    definitionList([
      ['Score (0 = indistinguishable, 1 = fully separated)', `${formatNumber(d.score, 3)}${d.flagged ? ' (beyond the limit)' : ''}`, 'dataset-drift-score'],
      ['Neighbours from the own set', formatPercent(d.same_set_share)],
      ['Expected for indistinguishable sets', formatPercent(d.expected_share)],
      ['k, rows embedded', `${formatInt(d.k)}, ${formatInt(d.rows_used)}`],
      ['Backend', d.backend],
    ]),
  );
}

function fileSummarySection(report) {
  const row = (which, r) => {
    const v = r?.verdict ?? {};
    return el(
      'tr',
      { testid: 'file-summary', dataset: { which, passed: String(Boolean(v.passed)) } },
      el('td', {}, which),
      el('td', {}, r?.source?.name ?? ''),
      el('td', { class: 'num' }, formatInt(r?.source?.rows)),
      el('td', { class: 'num' }, formatInt(r?.source?.columns)),
      el('td', { class: 'num' }, formatInt(r?.duplicates?.exact?.redundant_rows)),
      el('td', {}, v.passed ? 'passed' : 'failed'),
      el('td', {}, [...(v.failures ?? []), ...(v.warnings ?? [])].join('; ')),
    );
  };
  return section(
    'files',
    'Each file on its own',
    el('p', { class: 'muted' }, 'Each file\'s full single-file report is below (collapsed) and in the downloaded JSON (under "reference" and "candidate").'),
    table({ head: ['file', 'name', 'rows', 'columns', 'redundant duplicate rows', 'verdict', 'failures and warnings'], rows: [row('reference', report.reference), row('candidate', report.candidate)], testid: 'file-summaries' }),
  );
}

/**
 * Prefixes every id and test id under `root` with `prefix-` (and the
 * attributes that point at ids), so a single-file report nested in the
 * comparison clashes neither with the comparison nor with the other file's.
 */
function scopeIds(root, prefix) {
  for (const node of root.querySelectorAll('[id], [data-testid], [for], [aria-describedby], [aria-labelledby]')) {
    if (node.id) node.id = `${prefix}-${node.id}`;
    if (node.hasAttribute('data-testid')) node.setAttribute('data-testid', `${prefix}-${node.getAttribute('data-testid')}`);
    for (const attr of ['for', 'aria-describedby', 'aria-labelledby']) {
      if (node.hasAttribute(attr)) node.setAttribute(attr, node.getAttribute(attr).split(/\s+/).map((id) => `${prefix}-${id}`).join(' '));
    }
  }
  return root;
}

/** One file's full single-file report, collapsed, its ids prefixed with `which`. */
function fullReportDetails(which, report) {
  const name = report?.source?.name ?? '';
  const body = el('div', { class: 'nested-report' });
  if (report) body.append(renderReport(report));
  else body.append(emptyNote('Not in the comparison.'));
  // The label picker re-runs a single-file check: not offered inside a comparison.
  for (const select of body.querySelectorAll('[data-testid="label-select"], [data-testid="annotator-select"], [data-testid="annotator-apply"], [data-testid="verified-select"], [data-testid="review-redraw"]')) select.disabled = true;
  scopeIds(body, which);
  return el(
    'details',
    { class: 'full-report', id: `full-report-${which}`, testid: `full-report-${which}`, dataset: { which, rows: report?.source?.rows ?? '' } },
    el('summary', {}, `Full report of the ${which}: ${name} (${formatInt(report?.source?.rows)} rows)`),
    body,
  );
}

/** Builds a comparison report (`preflight compare`'s JSON) as a DocumentFragment. */
export function renderCompareReport(report) {
  const c = report.comparison ?? {};
  const fragment = document.createDocumentFragment();
  append(fragment, [
    verdictBanner({ verdict: report.verdict, source: { name: `${c.reference ?? ''} → ${c.candidate ?? ''}` } }),
    compareOverviewSection(report),
    schemaSection(report),
    leakageSection(report),
    driftSection(report),
    datasetDriftSection(report),
    fileSummarySection(report),
    fullReportDetails('reference', report.reference),
    fullReportDetails('candidate', report.candidate),
  ]);
  return fragment;
}
