/**
 * Findings of pure-ssh-check and their two renderings: a table a person reads and JSON for
 * machines. A verdict rests on what the server did on the wire, never on its version string.
 */

/** pass: the server did what the spec asks; fail: it did not; info: a fact, no judgement. */
export type Verdict = 'pass' | 'fail' | 'info';

/**
 * How binding the rule is (RFC 2119): a failed `must` makes the command exit non-zero; `should`
 * covers recommendations and posture (weak algorithms, Terrapin exposure).
 */
export type Requirement = 'must' | 'should' | 'none';

/** One line of the report. */
export interface Finding {
  /** Stable identifier, e.g. `strict-kex.ignore.before-newkeys`. */
  id: string;
  /** inventory, posture, strict-kex, protocol (before login) or connection (after login). */
  group: 'inventory' | 'posture' | 'strict-kex' | 'protocol' | 'connection';
  title: string;
  verdict: Verdict;
  requirement: Requirement;
  /** The spec the verdict rests on, e.g. "RFC 4253 §11.4". */
  spec: string;
  /** What was observed. */
  detail: string;
}

/** The whole report. */
export interface CheckReport {
  target: { host: string; port: number };
  serverVersion?: string;
  /** ISO 8601 time the check started (from the caller's clock). */
  startedAt: string;
  /**
   * With credentials: the user, and the method that logged in or why logging in failed (then
   * the connection probes did not run).
   */
  login?: { user: string; method?: string; error?: string };
  /**
   * Why the check could not run, or not in full (the command exits 255): no connection, no SSH
   * identification or KEXINIT from the server, or no key exchange with pure-ssh (then the
   * inventory and posture are there, and each skipped group of probes has a `*.not-run` finding).
   * Absent when every probe ran.
   */
  error?: string;
  findings: Finding[];
}

/** Findings that make the command exit non-zero: a MUST the server violated. */
export function mustViolations(report: CheckReport): Finding[] {
  return report.findings.filter((f) => f.verdict === 'fail' && f.requirement === 'must');
}

/** The report as JSON text (stable field names; the shape of {@link CheckReport}). */
export function renderJson(report: CheckReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

const GROUP_TITLES: Record<Finding['group'], string> = {
  inventory: 'Inventory',
  posture: 'Posture',
  'strict-kex': 'Strict key exchange enforcement',
  protocol: 'Protocol probes',
  connection: 'Connection protocol probes (after login)',
};

/** The report as a plain-text table, one section per group. */
export function renderTable(report: CheckReport): string {
  const lines: string[] = [];
  lines.push(`pure-ssh-check ${report.target.host} port ${report.target.port}`);
  if (report.serverVersion) lines.push(`server: ${report.serverVersion}`);
  if (report.login) lines.push(`login: ${report.login.user}${report.login.method ? ` (${report.login.method})` : ''}${report.login.error ? `: failed: ${report.login.error}` : ''}`);
  for (const group of Object.keys(GROUP_TITLES) as Finding['group'][]) {
    const fs = report.findings.filter((f) => f.group === group);
    if (fs.length === 0) continue;
    lines.push('', `== ${GROUP_TITLES[group]}`);
    const w = Math.max(...fs.map((f) => f.title.length));
    for (const f of fs) {
      const tag = f.verdict === 'info' ? 'info' : f.verdict === 'pass' ? 'PASS' : f.requirement === 'must' ? 'FAIL' : 'WARN';
      lines.push(`[${tag}] ${f.title.padEnd(w)}  ${f.detail}`);
      lines.push(`       ${' '.repeat(w)}  (${f.spec}${f.requirement === 'none' ? '' : `, ${f.requirement.toUpperCase()}`}; ${f.id})`);
    }
  }
  const must = mustViolations(report);
  const warn = report.findings.filter((f) => f.verdict === 'fail' && f.requirement !== 'must');
  lines.push('', `summary: ${report.findings.filter((f) => f.verdict === 'pass').length} pass, ${must.length} MUST violated, ${warn.length} warnings`);
  if (report.error) lines.push(`not run: ${report.error}`);
  return lines.join('\n') + '\n';
}
