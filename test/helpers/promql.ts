// The PromQL of deploy/ (the Grafana dashboard, the PrometheusRule), taken apart just enough to
// check it against the metrics the code exports: which metric names an expression reads, and
// which labels its `by (...)` clauses group by.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const REPO = path.resolve(__dirname, '../../..');
export const DASHBOARD_FILE = path.join(REPO, 'deploy/grafana/osc-build-watcher.json');
export const RULES_FILE = path.join(REPO, 'deploy/monitoring/prometheusrule.yaml');

/** Labels Prometheus adds to every scraped series (target labels), not the exporter. */
export const TARGET_LABELS = ['instance', 'job', 'pod', 'service', 'endpoint', 'container'];

export interface Expression {
  where: string;
  expr: string;
}

type Obj = Record<string, any>;

export function dashboardExpressions(): Expression[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Obj;
  const out: Expression[] = [];
  const visit = (panels: Obj[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: String(t.expr) });
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) if (v.type === 'query') out.push({ where: `variable ${v.name}`, expr: String(v.definition) });
  return out;
}

export function ruleExpressions(): Array<Expression & { rule: Obj }> {
  const doc = parseAllDocuments(readFileSync(RULES_FILE, 'utf8'))[0]!.toJS() as Obj;
  return (doc.spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((rule) => ({ where: `rule ${rule.alert ?? rule.record}`, expr: String(rule.expr), rule })));
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'rate', 'increase', 'irate', 'time', 'or', 'and', 'unless', 'on', 'ignoring',
  'histogram_quantile', 'absent', 'absent_over_time', 'label_values', 'le', 'topk', 'bottomk', 'max_over_time', 'min_over_time',
]);

/** The metric names an expression reads (identifiers outside strings, braces, by-clauses and ranges). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/label_values\(\s*([^,)]+),[^)]*\)/g, '$1')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const names = [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !FUNCTIONS_AND_KEYWORDS.has(w) && !/^\d/.test(w));
  return [...new Set(names)];
}

/** The labels of every `by (...)` clause, and of label_values(metric, label). */
export function groupingLabels(expr: string): string[] {
  const labels = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  const values = /label_values\([^,]+,\s*([a-zA-Z_]+)\s*\)/.exec(expr);
  if (values) labels.push(values[1]!);
  return [...new Set(labels)];
}
