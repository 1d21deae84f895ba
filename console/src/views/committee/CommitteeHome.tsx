import { getJson, type PolicySummary } from '../../api';
import { Link } from '../../components/Link';
import { TableWrap } from '../../components/TableWrap';
import { Problem } from '../../components/Problem';
import { useLoad } from '../../components/useLoad';

/** The committee's start: every policy with its latest version and what is approved. */
export function CommitteeHome() {
  const [policies] = useLoad(() => getJson<{ policies: PolicySummary[] }>('/v1/policies'), 'policies');
  return (
    <section aria-labelledby="policies-title">
      <h1 id="policies-title">Policies</h1>
      <p>
        Open a policy to edit it, compare versions, preview it on a sample and approve or reject a version.{' '}
        <Link href="/committee/new">Write a new policy</Link>.
      </p>
      {policies.state === 'loading' ? <p aria-live="polite">Loading…</p> : null}
      {policies.state === 'error' ? <Problem error={policies.error} /> : null}
      {policies.state === 'ok' ? (
        policies.value.policies.length === 0 ? (
          <p>No policy stored yet.</p>
        ) : (
          <TableWrap label="Stored policies">
            <table>
              <caption>Stored policies</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Latest version</th>
                  <th scope="col">Latest approved?</th>
                  <th scope="col">Approved versions</th>
                </tr>
              </thead>
              <tbody>
                {policies.value.policies.map((policy) => (
                  <tr key={policy.name}>
                    <th scope="row">
                      <Link href={`/committee/policies/${encodeURIComponent(policy.name)}`}>{policy.name}</Link>
                    </th>
                    <td>{policy.latestVersion}</td>
                    <td>{policy.latestApproved ? 'yes' : 'no — pending'}</td>
                    <td>{policy.approvedVersions.length > 0 ? policy.approvedVersions.join(', ') : 'none'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      ) : null}
    </section>
  );
}
