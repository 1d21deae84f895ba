import { useState } from 'preact/hooks';
import { getJson } from '../../api';
import { Problem } from '../../components/Problem';
import { useLoad } from '../../components/useLoad';
import { JobsTable, type ListedJob } from '../JobsTable';

interface Filters {
  kind: string;
  status: string;
  policy: string;
}

function query(filters: Filters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const [key, value] of Object.entries(filters)) if (value.trim() !== '') params.set(key, value.trim());
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Every job: who ran which policy version on what kind of data, with filters and a CSV export. */
export function AuditorJobs() {
  const [draft, setDraft] = useState<Filters>({ kind: '', status: '', policy: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [jobs] = useLoad(() => getJson<{ jobs: ListedJob[] }>(`/v1/jobs${query(filters)}`), JSON.stringify(filters));

  return (
    <>
      <h1>Jobs</h1>
      <form
        class="card filters"
        aria-labelledby="job-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <h2 id="job-filters">Filter</h2>
        <div class="row">
          <div class="field">
            <label for="f-kind">Kind</label>
            <select id="f-kind" value={draft.kind} onChange={(event) => setDraft({ ...draft, kind: event.currentTarget.value })}>
              <option value="">any</option>
              <option value="tabular">tabular</option>
              <option value="dicom">dicom</option>
              <option value="image">image</option>
            </select>
          </div>
          <div class="field">
            <label for="f-status">Status</label>
            <select id="f-status" value={draft.status} onChange={(event) => setDraft({ ...draft, status: event.currentTarget.value })}>
              <option value="">any</option>
              <option value="queued">queued</option>
              <option value="running">running</option>
              <option value="done">done</option>
              <option value="failed">failed</option>
            </select>
          </div>
          <div class="field">
            <label for="f-policy">Policy name</label>
            <input id="f-policy" value={draft.policy} onInput={(event) => setDraft({ ...draft, policy: event.currentTarget.value })} />
          </div>
          <button type="submit">Apply</button>
        </div>
      </form>
      <p>
        Export: <a href={`/v1/jobs${query(filters, { format: 'csv' })}`} download="veil-jobs.csv">jobs as CSV</a>
      </p>
      {jobs.state === 'loading' ? <p aria-live="polite">Loading…</p> : null}
      {jobs.state === 'error' ? <Problem error={jobs.error} /> : null}
      {jobs.state === 'ok' ? <JobsTable jobs={jobs.value.jobs} base="/auditor/jobs" showSubmitter /> : null}
    </>
  );
}
