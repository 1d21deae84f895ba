import { useEffect, useState } from 'preact/hooks';
import { getJson, policyPath, sendJson, type Job, type Preview } from '../../api';
import { useLoad } from '../../components/useLoad';
import { TableWrap } from '../../components/TableWrap';
import { Problem } from '../../components/Problem';
import { decimal, percent, when, whole } from '../../lib/format';

/**
 * What a version would publish, on a sample: a CSV chosen here, or the input of a past tabular
 * job (the server reads it in place while the job still has it: inputs are deleted when a job
 * ends, and the server then says so). POST /v1/policies/:name/preview runs the tabular engine;
 * nothing is stored. The numbers are the engine's report, shown as tables.
 */
export function PreviewPanel(props: { name: string; versions: number[] }) {
  const latest = props.versions[props.versions.length - 1];
  const [version, setVersion] = useState(latest);
  // a version saved above is offered at once; the panel stays mounted, so the focus stays in it
  useEffect(() => setVersion(latest), [latest]);
  const [source, setSource] = useState<'file' | 'job'>('file');
  const [preview, setPreview] = useState<Preview | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const run = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const form = event.currentTarget as HTMLFormElement;
    const body = new FormData();
    if (source === 'file') {
      const file = (form.elements.namedItem('sample') as HTMLInputElement).files?.[0];
      if (!file) {
        setError(new Error('Choose a sample CSV first.'));
        return;
      }
      body.append('file', file, file.name);
    } else {
      const jobId = (form.elements.namedItem('job') as HTMLSelectElement | null)?.value;
      if (!jobId) {
        setError(new Error('Choose a past tabular job first.'));
        return;
      }
      body.append('jobId', jobId);
    }
    setBusy(true);
    setError(undefined);
    try {
      setPreview(await sendJson<Preview>('POST', policyPath(props.name, `/preview?version=${version}`), { form: body }));
    } catch (failure) {
      setPreview(undefined);
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="preview-title" class="card">
      <h2 id="preview-title">Preview on a sample</h2>
      <form onSubmit={(event) => void run(event)}>
        <fieldset>
          <legend>Sample</legend>
          <label class="choice">
            <input type="radio" name="source" value="file" checked={source === 'file'} onChange={() => setSource('file')} /> A CSV file
          </label>
          <label class="choice">
            <input type="radio" name="source" value="job" checked={source === 'job'} onChange={() => setSource('job')} /> The input of a past tabular job
          </label>
        </fieldset>
        <div class="row">
          <label>
            Version{' '}
            <select value={String(version)} onChange={(event) => setVersion(Number(event.currentTarget.value))}>
              {props.versions.map((v) => (
                <option key={v} value={String(v)}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          {source === 'file' ? (
            <label>
              Sample CSV <input name="sample" type="file" accept=".csv,text/csv" required />
            </label>
          ) : (
            <PastJobPicker />
          )}
          <button type="submit" aria-disabled={busy ? 'true' : undefined}>
            {busy ? 'Running…' : 'Preview'}
          </button>
        </div>
      </form>
      <p class="hint">
        {source === 'file'
          ? 'The sample is used for this preview only and deleted at once.'
          : "A job's input is read where it is, never copied, and the job is not changed. Inputs are deleted when a job ends (done or failed), so only a queued or running job can still be previewed."}
      </p>
      {error ? <Problem error={error} what="Preview failed" /> : null}
      {preview ? <PreviewResult preview={preview} /> : null}
    </section>
  );
}

/** The tabular jobs (newest first) to preview the input of; ended ones are marked, since their input is gone. */
function PastJobPicker() {
  const [jobs] = useLoad(() => getJson<{ jobs: Job[] }>('/v1/jobs?kind=tabular'), 'tabular-jobs');
  if (jobs.state === 'loading') return <p aria-live="polite">Loading the tabular jobs…</p>;
  if (jobs.state === 'error') return <Problem error={jobs.error} what="The jobs could not be listed" />;
  if (jobs.value.jobs.length === 0) return <p>No tabular job has been run yet.</p>;
  return (
    <div>
      <label for="preview-job">Past tabular job</label>{' '}
      <select id="preview-job" name="job" required>
        {jobs.value.jobs.map((job) => (
          <option key={job.id} value={job.id}>
            {jobLabel(job)}
          </option>
        ))}
      </select>
    </div>
  );
}

function jobLabel(job: Job): string {
  const policy = job.policy ? `${job.policy.name}@${job.policy.version}` : 'policy ?';
  const ended = job.status === 'queued' || job.status === 'running' ? '' : ' (input deleted)';
  return `${job.id.slice(0, 8)} · ${policy} · ${job.submittedBy?.name ?? '?'} · ${when(job.createdAt)} · ${job.status}${ended}`;
}

function PreviewResult({ preview }: { preview: Preview }) {
  const report = preview.report;
  const privacy = report.privacy ?? {};
  const rows = report.input?.rows ?? preview.rows;
  const perAttribute = report.utility?.published?.perAttribute ?? report.utility?.perAttribute ?? [];
  const published = report.utility?.published?.perAttribute;
  const bins = report.classes?.sizeBins;
  return (
    <div class="preview" aria-live="polite">
      <p>
        Version {preview.policy?.version ?? "?"} on {whole(rows)} rows:{' '}
        <strong class={privacy.satisfied === false ? 'bad' : 'ok'}>{privacy.satisfied === false ? 'the policy is not met' : 'the policy is met'}</strong>.
      </p>
      <TableWrap label="Privacy models">
        <table>
          <caption>Privacy models</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Required</th>
              <th scope="col">Achieved</th>
            </tr>
          </thead>
          <tbody>
            {privacy.k ? (
              <tr>
                <th scope="row">k-anonymity</th>
                <td>{privacy.k.required}</td>
                <td data-testid="k-achieved">{privacy.k.achieved ?? '—'}</td>
              </tr>
            ) : null}
            {privacy.l ? (
              <tr>
                <th scope="row">l-diversity ({privacy.l.variant})</th>
                <td>{privacy.l.required}</td>
                <td>{decimal(privacy.l.achieved, 2)}</td>
              </tr>
            ) : null}
            {privacy.t ? (
              <tr>
                <th scope="row">t-closeness</th>
                <td>{privacy.t.required}</td>
                <td>{decimal(privacy.t.achieved, 3)}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </TableWrap>
      <TableWrap label="Generalized and suppressed">
        <table>
          <caption>Generalized and suppressed</caption>
          <tbody>
            <tr>
              <th scope="row">Rows suppressed</th>
              <td>
                {whole(report.suppressed)} ({percent(rows ? (report.suppressed ?? 0) / rows : undefined)}; limit {percent(report.suppressionLimit)})
              </td>
            </tr>
            <tr>
              <th scope="row">Overall loss (GenILoss)</th>
              <td>{decimal(report.utility?.genILoss)}</td>
            </tr>
            <tr>
              <th scope="row">Equivalence classes</th>
              <td>
                {whole(report.classes?.count)} (smallest {whole(report.classes?.minSize)})
              </td>
            </tr>
          </tbody>
        </table>
      </TableWrap>
      <TableWrap label="Loss per attribute">
        <table>
          <caption>Loss per attribute</caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Loss (GenILoss)</th>
              {published ? <th scope="col">Cells fully generalized</th> : null}
              {published ? <th scope="col">Cells suppressed</th> : null}
            </tr>
          </thead>
          <tbody>
            {perAttribute.map((attribute) => {
              const shares = published?.find((p) => p.column === attribute.column);
              return (
                <tr key={attribute.column}>
                  <th scope="row">{attribute.column}</th>
                  <td>{decimal(attribute.genILoss)}</td>
                  {published ? <td>{percent(shares?.atRoot)}</td> : null}
                  {published ? <td>{percent(shares?.suppressed)}</td> : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <TableWrap label="Re-identification risk (prosecutor)">
        <table>
          <caption>Re-identification risk (prosecutor)</caption>
          <thead>
            <tr>
              <th scope="col">Measure</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Highest record risk</th>
              <td>{percent(report.risk?.before?.prosecutorMax)}</td>
              <td>{percent(report.risk?.after?.prosecutorMax)}</td>
            </tr>
            <tr>
              <th scope="row">Average record risk</th>
              <td>{percent(report.risk?.before?.prosecutorAvg)}</td>
              <td>{percent(report.risk?.after?.prosecutorAvg)}</td>
            </tr>
            <tr>
              <th scope="row">Records at risk</th>
              <td>{whole(report.risk?.before?.recordsAtRisk)}</td>
              <td>{whole(report.risk?.after?.recordsAtRisk)}</td>
            </tr>
            <tr>
              <th scope="row">Unique records</th>
              <td>{whole(report.risk?.before?.uniques)}</td>
              <td>{whole(report.risk?.after?.uniques)}</td>
            </tr>
          </tbody>
        </table>
      </TableWrap>
      {bins && bins.length > 0 ? (
        <TableWrap label="Class sizes">
          <table>
            <caption>Class sizes</caption>
            <thead>
              <tr>
                <th scope="col">Class size</th>
                <th scope="col">Classes</th>
                <th scope="col">Records</th>
              </tr>
            </thead>
            <tbody>
              {bins.map((bin) => (
                <tr key={bin.from}>
                  <th scope="row">{bin.from === bin.to ? bin.from : `${bin.from}–${Number.isFinite(bin.to) ? bin.to : '…'}`}</th>
                  <td>{whole(bin.classes)}</td>
                  <td>{whole(bin.records)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </div>
  );
}
