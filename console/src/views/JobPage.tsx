import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, sendJson, type Role } from '../api';
import { Link } from '../components/Link';
import { Problem } from '../components/Problem';
import { when } from '../lib/format';
import type { ListedJob } from './JobsTable';

const POLL_MS = 1000;

const isRunning = (job: ListedJob) => job.status === 'queued' || job.status === 'running';

/**
 * One job: progress (server-sent events, or polling every second, while it runs), then the result
 * download (the submitting researcher only) and the report page, shown as the same HTML the
 * CLI writes in a sandboxed frame (for image and DICOM jobs, the review page).
 */
export function JobPage(props: { id: string; role: Role }) {
  const [job, setJob] = useState<ListedJob | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [cancelError, setCancelError] = useState<unknown>(undefined);
  const [cancelling, setCancelling] = useState(false);

  useEffect(() => {
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let events: EventSource | undefined;
    const path = `/v1/jobs/${encodeURIComponent(props.id)}`;
    const show = (answer: ListedJob) => {
      setJob(answer);
      setError(undefined);
    };
    const poll = () => {
      getJson<ListedJob>(path).then(
        (answer) => {
          if (!current) return;
          show(answer);
          if (isRunning(answer)) timer = setTimeout(poll, POLL_MS);
        },
        (failure: unknown) => current && setError(failure),
      );
    };
    // Server-sent events while the job runs (GET /v1/jobs/:id/events); polling once a second if
    // the stream is refused or breaks before the job ends.
    getJson<ListedJob>(path).then(
      (first) => {
        if (!current) return;
        show(first);
        if (!isRunning(first)) return;
        if (typeof EventSource === 'undefined') return poll();
        events = new EventSource(`${path}/events`);
        events.addEventListener('job', (event) => {
          const answer = JSON.parse((event as MessageEvent<string>).data) as ListedJob;
          if (!current) return;
          show(answer);
          if (!isRunning(answer)) events?.close();
        });
        events.onerror = () => {
          events?.close();
          if (current) poll();
        };
      },
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
      events?.close();
      if (timer) clearTimeout(timer);
    };
  }, [props.id]);

  // POST /v1/jobs/:id/cancel: the server stops the job and removes its files; the answer is the job
  const cancel = async () => {
    if (cancelling) return;
    setCancelling(true);
    setCancelError(undefined);
    try {
      setJob(await sendJson<ListedJob>('POST', `/v1/jobs/${encodeURIComponent(props.id)}/cancel`));
    } catch (failure) {
      setCancelError(failure);
    } finally {
      setCancelling(false);
    }
  };

  const back = props.role === 'auditor' ? '/auditor' : '/researcher';
  const running = job !== undefined && isRunning(job);

  // When the job stops (done, failed or cancelled), the Cancel button goes; if it had the focus,
  // the focus fell to the body. It goes to the words saying what happened instead (the next Tab
  // then reaches the download), never taken from anywhere else.
  const outcome = useRef<HTMLParagraphElement>(null);
  const wasRunning = useRef(false);
  useEffect(() => {
    if (wasRunning.current && !running && (document.activeElement === null || document.activeElement === document.body)) outcome.current?.focus();
    wasRunning.current = running;
  }, [running]);
  const reportUrl = `/v1/jobs/${encodeURIComponent(props.id)}/report?format=html`;
  return (
    <>
      <p class="crumbs">
        <Link href={back}>{props.role === 'auditor' ? 'Jobs' : 'Run a job'}</Link> / job {props.id.slice(0, 8)}
      </p>
      <h1>Job {props.id.slice(0, 8)}</h1>
      {error ? <Problem error={error} /> : null}
      {job ? (
        <>
          <section aria-labelledby="status-title" class="card">
            <h2 id="status-title">Status</h2>
            <dl class="facts">
              <dt>Status</dt>
              <dd>
                <span class={`state ${job.status}`} data-testid="job-status">
                  {job.status}
                </span>
              </dd>
              <dt>Kind</dt>
              <dd>{job.kind}</dd>
              <dt>Policy</dt>
              <dd>{job.policy?.name ? `${job.policy.name}@${job.policy.version ?? '?'}` : '—'}</dd>
              {job.submittedBy ? (
                <>
                  <dt>Submitted by</dt>
                  <dd>{job.submittedBy.name}</dd>
                </>
              ) : null}
              {job.overrides && Object.keys(job.overrides).length > 0 ? (
                <>
                  <dt>Privacy model (with the overrides)</dt>
                  <dd>
                    {Object.entries(job.overrides)
                      .map(([key, value]) => `${key} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
                      .join(', ')}
                  </dd>
                </>
              ) : null}
              <dt>Submitted</dt>
              <dd>{when(job.createdAt)}</dd>
              <dt>Finished</dt>
              <dd>{when(job.finishedAt)}</dd>
            </dl>
            <label for="job-progress">Progress</label>
            <progress id="job-progress" max={1} value={job.status === 'done' ? 1 : job.progress}>
              {Math.round((job.status === 'done' ? 1 : job.progress) * 100)} %
            </progress>
            <p aria-live="polite" ref={outcome} tabIndex={-1}>
              {running ? `${Math.round(job.progress * 100)} % — ${job.status}` : job.status === 'done' ? 'Done.' : job.status === 'cancelled' ? 'Cancelled: the job was stopped and its files removed.' : 'Failed.'}
            </p>
            {running && props.role === 'researcher' ? (
              <p>
                <button type="button" aria-disabled={cancelling ? 'true' : undefined} onClick={() => void cancel()}>
                  {cancelling ? 'Cancelling…' : 'Cancel the job'}
                </button>
              </p>
            ) : null}
            {cancelError ? <Problem error={cancelError} what="The job could not be cancelled" /> : null}
            {job.error ? (
              <div class="problem" role="alert">
                <p>
                  <strong>{job.error.code}</strong> {job.error.message}
                </p>
              </div>
            ) : null}
            {job.status === 'done' && props.role === 'researcher' ? (
              <p>
                <a class="button" href={`/v1/jobs/${encodeURIComponent(props.id)}/result`} download>
                  Download the result ({job.kind === 'tabular' ? 'CSV' : 'zip'})
                </a>
              </p>
            ) : null}
          </section>
          {job.status === 'done' ? (
            <section aria-labelledby="report-title" class="card">
              <h2 id="report-title">{job.kind === 'tabular' ? 'Report' : 'Review page'}</h2>
              <p>
                <a href={reportUrl} target="_blank" rel="noopener">
                  Open the report in a new tab
                </a>{' '}
                · <a href={`/v1/jobs/${encodeURIComponent(props.id)}/report`}>report JSON</a>
              </p>
              <iframe class="report" sandbox="" src={reportUrl} title={`Report of job ${props.id.slice(0, 8)}`} />
            </section>
          ) : null}
        </>
      ) : error ? null : (
        <p aria-live="polite">Loading…</p>
      )}
    </>
  );
}
