import { useEffect, useState } from 'preact/hooks';
import { getJson, policyPath, type PolicyDetail } from '../../api';
import { TableWrap } from '../../components/TableWrap';
import { Problem } from '../../components/Problem';
import { diffLines, type DiffLine } from '../../lib/diff';

/** A line diff between two stored versions, computed in the page. */
export function VersionDiff(props: { name: string; versions: number[] }) {
  const sorted = [...props.versions].sort((a, b) => a - b);
  const [from, setFrom] = useState(sorted.length > 1 ? sorted[sorted.length - 2] : sorted[0]);
  const [to, setTo] = useState(sorted[sorted.length - 1]);
  const [lines, setLines] = useState<DiffLine[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    let current = true;
    const load = (version: number) => getJson<PolicyDetail>(policyPath(props.name, `?version=${version}`));
    Promise.all([load(from), load(to)]).then(
      ([a, b]) => current && (setLines(diffLines(a.yaml, b.yaml)), setError(undefined)),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [props.name, from, to]);

  const changed = lines?.filter((line) => line.kind !== 'same').length ?? 0;
  return (
    <section aria-labelledby="diff-title" class="card">
      <h2 id="diff-title">Compare versions</h2>
      <div class="row">
        <label>
          From version{' '}
          <select value={String(from)} onChange={(event) => setFrom(Number(event.currentTarget.value))}>
            {sorted.map((v) => (
              <option key={v} value={String(v)}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          to version{' '}
          <select value={String(to)} onChange={(event) => setTo(Number(event.currentTarget.value))}>
            {sorted.map((v) => (
              <option key={v} value={String(v)}>
                {v}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error ? <Problem error={error} /> : null}
      {lines ? (
        <>
          <p aria-live="polite">{changed === 0 ? 'The two versions are the same.' : `${changed} line${changed === 1 ? '' : 's'} differ.`}</p>
          <TableWrap label="Line diff">
            <table class="diff">
              <caption>
                Version {from} → version {to}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Old line</th>
                  <th scope="col">New line</th>
                  <th scope="col">Change</th>
                  <th scope="col">Text</th>
                </tr>
              </thead>
              <tbody>
                {lines.map((line, index) => (
                  <tr key={index} class={line.kind}>
                    <td>{line.oldLine ?? ''}</td>
                    <td>{line.newLine ?? ''}</td>
                    <td>{line.kind === 'added' ? '+ added' : line.kind === 'removed' ? '− removed' : ''}</td>
                    <td>
                      <code>{line.text}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      ) : null}
    </section>
  );
}
