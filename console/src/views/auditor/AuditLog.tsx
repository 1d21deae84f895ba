import { useState } from 'preact/hooks';
import { getJson, type AuditEntry, type AuditPage, type AuditVerdict } from '../../api';
import { TableWrap } from '../../components/TableWrap';
import { Problem } from '../../components/Problem';
import { useLoad } from '../../components/useLoad';
import { shortHash, when } from '../../lib/format';


interface Filters {
  action: string;
  actor: string;
  from: string;
  to: string;
}

const PAGE = 200;

/** A decision's comment, written in the entry's detail (covered by its MAC). */
function commentOf(entry: AuditEntry): string | undefined {
  return entry.detail?.comment;
}

function query(filters: Filters, extra: Record<string, string>): string {
  const params = new URLSearchParams(extra);
  if (filters.action.trim()) params.set('action', filters.action.trim());
  if (filters.actor.trim()) params.set('actor', filters.actor.trim());
  // date inputs give a day; the API takes ISO times (to = the end of that day)
  if (filters.from) params.set('from', `${filters.from}T00:00:00.000Z`);
  if (filters.to) params.set('to', `${filters.to}T23:59:59.999Z`);
  return `?${params.toString()}`;
}

/** The audit log with filters, the chain's verification state, and CSV/JSON exports. */
export function AuditLog() {
  const [verdict] = useLoad(() => getJson<AuditVerdict>('/v1/audit/verify'), 'verify');
  const [draft, setDraft] = useState<Filters>({ action: '', actor: '', from: '', to: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [extra, setExtra] = useState<AuditPage | undefined>(undefined);
  const [log] = useLoad(() => {
    setExtra(undefined);
    return getJson<AuditPage>(`/v1/audit${query(filters, { limit: String(PAGE) })}`);
  }, JSON.stringify(filters));

  const entries = log.state === 'ok' ? [...log.value.entries, ...(extra?.entries ?? [])] : [];
  const next = extra ? extra.next : log.state === 'ok' ? log.value.next : undefined;

  const more = async () => {
    if (next === undefined) return;
    const page = await getJson<AuditPage>(`/v1/audit${query(filters, { limit: String(PAGE), after: String(next) })}`);
    setExtra({ entries: [...(extra?.entries ?? []), ...page.entries], next: page.next });
  };

  return (
    <>
      <h1>Audit log</h1>
      <section aria-labelledby="chain-title" class="card">
        <h2 id="chain-title">Chain verification</h2>
        {verdict.state === 'loading' ? <p aria-live="polite">Verifying…</p> : null}
        {verdict.state === 'error' ? <Problem error={verdict.error} /> : null}
        {verdict.state === 'ok' ? (
          verdict.value.intact ? (
            <p class="ok" data-testid="chain-state">
              Verified: the chain is intact ({verdict.value.entries} entries). Head <code title={verdict.value.head}>{verdict.value.head}</code> — write it down outside Veil.
            </p>
          ) : (
            <p class="bad" data-testid="chain-state" role="alert">
              Broken at entry {verdict.value.firstBroken ?? '?'}
              {verdict.value.problem ? `: ${verdict.value.problem}` : ''}.
            </p>
          )
        ) : null}
      </section>
      <form
        class="card filters"
        aria-labelledby="audit-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <h2 id="audit-filters">Filter</h2>
        <div class="row">
          <div class="field">
            <label for="a-action">Action</label>
            <input id="a-action" value={draft.action} placeholder="job.done" onInput={(event) => setDraft({ ...draft, action: event.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="a-actor">Actor</label>
            <input id="a-actor" value={draft.actor} onInput={(event) => setDraft({ ...draft, actor: event.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="a-from">From (day, UTC)</label>
            <input id="a-from" type="date" value={draft.from} onInput={(event) => setDraft({ ...draft, from: event.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="a-to">To (day, UTC)</label>
            <input id="a-to" type="date" value={draft.to} onInput={(event) => setDraft({ ...draft, to: event.currentTarget.value })} />
          </div>
          <button type="submit">Apply</button>
        </div>
      </form>
      <p>
        Export:{' '}
        <a href={`/v1/audit${query(filters, { format: 'csv' })}`} download="veil-audit.csv">
          audit log as CSV
        </a>{' '}
        ·{' '}
        <a href={`/v1/audit${query(filters, { format: 'json' })}`} download="veil-audit.json">
          as JSON
        </a>
      </p>
      {log.state === 'loading' ? <p aria-live="polite">Loading…</p> : null}
      {log.state === 'error' ? <Problem error={log.error} /> : null}
      {log.state === 'ok' ? (
        <>
          <TableWrap label="Audit entries">
            <table class="audit">
              <caption>Entries, oldest first ({entries.length} shown)</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Role</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Hash</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((entry) => (
                  <tr key={entry.seq}>
                    <th scope="row">{entry.seq}</th>
                    <td>{when(entry.at)}</td>
                    <td>{entry.actor}</td>
                    <td>{entry.role}</td>
                    <td>
                      <code>{entry.action}</code>
                    </td>
                    <td class="target">
                      {entry.target}
                      {commentOf(entry) ? <span class="comment"> — “{commentOf(entry)}”</span> : null}
                    </td>
                    <td>{entry.policy?.name ? `${entry.policy.name}@${entry.policy.version ?? '?'}` : '—'}</td>
                    <td>
                      <code title={entry.hash}>{shortHash(entry.hash)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          {next !== undefined ? (
            <button type="button" onClick={() => void more()}>
              Load more
            </button>
          ) : null}
        </>
      ) : null}
    </>
  );
}
