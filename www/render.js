// Renders a preflight report (the serde JSON of src/report.rs) as DOM nodes.
// UI only: no wasm, no GPU, no network. Every piece of text from the report
// goes through textContent or setAttribute, never through innerHTML.

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
  if (size !== undefined && size > rows.length) parts.push(el('span', { class: 'muted' }, ` … and ${formatInt(size - rows.length)} more`));
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

function topValuesList(topValues, count, limit = 5) {
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
        el('span', { class: 'count' }, `${formatInt(n)} (${formatPercent(share)})`),
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
        el('td', {}, r.severity),
        el('td', { class: 'num' }, formatNumber(r.value)),
        el('td', { class: 'num' }, formatNumber(r.limit)),
        el('td', {}, r.passed ? 'held' : 'failed'),
        el('td', {}, r.message),
      ),
    );
    banner.append(
      el('details', { class: 'rules' }, el('summary', {}, `Rules (${verdict.rules.length})`), table({ head: ['rule', 'severity', 'value', 'limit', 'outcome', 'message'], rows, testid: 'rules' })),
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
  return topValuesList(column.top_values, column.count);
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
      el('td', { class: 'num', dataset: { distinct: column.distinct } }, formatInt(column.distinct)),
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

function duplicatesSection(report) {
  const exact = report.duplicates?.exact;
  const near = report.duplicates?.near;
  const parts = [];
  if (exact) {
    parts.push(
      el('h3', {}, 'Exact duplicates'),
      el(
        'div',
        { class: 'stats' },
        stat('stat-redundant-rows', 'redundant rows (removable copies)', exact.redundant_rows),
        stat('stat-rows-in-groups', 'rows in groups (all copies)', exact.rows_in_groups),
        stat('stat-exact-groups', 'groups', exact.group_count),
      ),
      el('p', { class: 'muted method' }, exact.method),
    );
    if (exact.groups?.length) {
      parts.push(groupsTable(exact.groups, 'exact-group'));
      if (exact.group_count > exact.groups.length) parts.push(emptyNote(`The ${exact.groups.length} largest of ${formatInt(exact.group_count)} groups.`));
    } else {
      parts.push(emptyNote('No two rows are identical.'));
    }
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

function classBalanceSection(report) {
  const balance = report.class_balance;
  if (!balance) {
    return section('class-balance', 'Class balance', stat('stat-label-column', 'label column', '', 'none'), emptyNote('No label column was found or chosen; set one under Options to check class balance and labels.'));
  }
  const classes = balance.classes ?? [];
  const maxShare = Math.max(1e-12, ...classes.map((c) => Number(c.share)));
  const width = 240;
  const rows = classes.map((c) => {
    const barWidth = Math.max(c.count > 0 ? 1 : 0, (Number(c.share) / maxShare) * width);
    const bar = svg('svg', { class: 'balance-bar', viewBox: `0 0 ${width} 14`, width, height: 14, role: 'img', 'aria-label': `${formatPercent(c.share)}` });
    bar.append(svg('rect', { class: c.flagged ? 'bar flagged' : 'bar', x: 0, y: 1, width: barWidth.toFixed(2), height: 12 }));
    return el(
      'tr',
      { class: c.flagged ? 'flagged' : '', testid: 'class-row', dataset: { class: c.class, count: c.count, flagged: String(Boolean(c.flagged)) } },
      el('th', { scope: 'row' }, c.class === '' ? '(empty)' : c.class),
      el('td', { class: 'num' }, formatInt(c.count)),
      el('td', { class: 'num' }, formatPercent(c.share)),
      el('td', {}, bar),
      el('td', {}, c.flagged ? el('strong', { class: 'flag' }, 'minority') : ''),
    );
  });
  const flagged = balance.flagged_classes ?? [];
  return section(
    'class-balance',
    'Class balance',
    el(
      'div',
      { class: 'stats' },
      stat('stat-label-column', 'label column', balance.label_column, balance.label_column),
      stat('stat-classes', 'classes', classes.length),
      stat('stat-imbalance-ratio', 'imbalance ratio (largest / smallest)', balance.imbalance_ratio, formatNumber(balance.imbalance_ratio, 3)),
      stat('stat-normalized-entropy', 'normalized entropy (1 = balanced)', balance.normalized_entropy, formatNumber(balance.normalized_entropy, 3)),
      stat('stat-flagged-classes', 'minority classes flagged', flagged.length),
    ),
    definitionList([
      ['Why this column', balance.reason, 'label-reason'],
      ['Rows without a label', formatInt(balance.missing)],
      ['Flag rule', `share below ${formatPercent(balance.flag_share_below, 2)} (0.1 / number of classes)`],
      ['Flagged', flagged.length ? flagged.join(', ') : 'none'],
    ]),
    table({ head: ['class', 'rows', 'share', '', ''], rows, testid: 'class-balance', className: 'data-table balance' }),
  );
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
    features.length ? el('details', {}, el('summary', {}, `Features (${features.length})`), el('ul', {}, features)) : null,
    excluded.length ? el('details', {}, el('summary', {}, `Columns left out (${excluded.length})`), el('ul', {}, excluded)) : null,
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
    cells.push(el('td', { class: 'neighbours' }, (r.neighbours ?? []).join(', ')));
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
    el('p', { class: 'muted method' }, `Mean ${o.metric} distance to the ${o.k} nearest neighbours; flagged above Q3 + 1.7 × IQR of that distance. Neighbour graph built on the ${o.backend === 'gpu' ? 'GPU' : 'CPU'}.`),
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
    el('p', { class: 'muted method' }, `${l.method} (label column: ${l.label_column})`),
    l.top?.length ? flaggedRowsTable(l.top, columnNames, { withLabels: true, testid: 'label-issue-row' }) : emptyNote('No row looks mislabelled.'),
  );
}

function computeSection(report) {
  const c = report.compute ?? {};
  const timings = Object.entries(c.timings_ms ?? {});
  const total = timings.reduce((sum, [, ms]) => sum + Number(ms), 0);
  return section(
    'compute',
    'Compute',
    el('div', { class: 'stats' }, stat('stat-backend', 'backend', c.backend, c.backend === 'gpu' ? 'GPU' : c.backend === 'cpu' ? 'CPU' : c.backend ?? '–')),
    definitionList([
      ['Adapter', c.adapter === undefined || c.adapter === null ? undefined : c.adapter === '' ? '(the browser does not name it)' : c.adapter, 'compute-adapter'],
      ['Note', c.note ?? undefined, 'compute-note'],
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

/** Builds the whole report as a DocumentFragment. */
export function renderReport(report) {
  const columnNames = (report.columns ?? []).map((c) => c.name);
  const fragment = document.createDocumentFragment();
  append(fragment, [
    verdictBanner(report),
    overviewSection(report),
    columnsSection(report),
    duplicatesSection(report),
    classBalanceSection(report),
    outliersSection(report, columnNames),
    labelIssuesSection(report, columnNames),
    embeddingSection(report),
    computeSection(report),
  ]);
  return fragment;
}
