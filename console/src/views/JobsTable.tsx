import { TableWrap } from '../components/TableWrap';
import type { Job } from '../api';
import { Link } from '../components/Link';
import { when } from '../lib/format';

export type ListedJob = Job;

/** Jobs with who ran which policy version on what kind of data — never a data value. */
export function JobsTable(props: { jobs: ListedJob[]; base: string; showSubmitter: boolean }) {
  if (props.jobs.length === 0) return <p>No jobs.</p>;
  return (
    <TableWrap label="Jobs, newest first">
      <table class="jobs">
        <caption>Jobs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            {props.showSubmitter ? <th scope="col">Submitted by</th> : null}
            <th scope="col">Policy</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Submitted</th>
            <th scope="col">Finished</th>
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((job) => (
            <tr key={job.id}>
              <th scope="row">
                <Link href={`${props.base}/${job.id}`}>
                  <code>{job.id.slice(0, 8)}</code>
                </Link>
              </th>
              {props.showSubmitter ? <td>{job.submittedBy ? `${job.submittedBy.name} (${job.submittedBy.keyId.slice(0, 8)})` : '—'}</td> : null}
              <td>{job.policy?.name ? `${job.policy.name}@${job.policy.version ?? '?'}` : '—'}</td>
              <td>{job.kind}</td>
              <td>
                <span class={`state ${job.status}`}>{job.status}</span>
                {job.error?.code ? ` (${job.error.code})` : ''}
              </td>
              <td>{when(job.createdAt)}</td>
              <td>{when(job.finishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
