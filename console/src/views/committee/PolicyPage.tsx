import { useEffect, useState } from 'preact/hooks';
import { getJson, policyPath, sendJson, type Body, type PolicyDetail } from '../../api';
import { Link } from '../../components/Link';
import { TableWrap } from '../../components/TableWrap';
import { Problem } from '../../components/Problem';
import { useLoad } from '../../components/useLoad';
import { navigate } from '../../router';
import { shortHash, when } from '../../lib/format';
import { DecisionPanel } from './DecisionPanel';
import { PolicyEditor } from './PolicyEditor';
import { PreviewPanel } from './PreviewPanel';
import { VersionDiff } from './VersionDiff';

const NEW_POLICY = `name: my-policy
version: 1
description: What this policy is for.
tabular:
  quasiIdentifiers:
    - { column: age, type: numeric }
  privacy:
    k: 5
    suppressionLimit: 0.02
`;

const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** One policy: its versions, the editor (save = a new version), diff, preview and the decision. */
export function PolicyPage(props: { name: string | undefined }) {
  const [detail, reload] = useLoad<PolicyDetail | undefined>(
    () => (props.name ? getJson<PolicyDetail>(policyPath(props.name)) : Promise.resolve(undefined)),
    props.name ?? '(new)',
  );
  const [text, setText] = useState(NEW_POLICY);
  const [newName, setNewName] = useState('');
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const loadedYaml = detail.state === 'ok' ? detail.value?.yaml : undefined;
  useEffect(() => {
    if (loadedYaml !== undefined) setText(loadedYaml);
  }, [loadedYaml]);

  const name = props.name ?? newName.trim();

  const save = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const form = event.currentTarget as HTMLFormElement;
    if (!NAME.test(name)) {
      setSaveError(new Error('The name may hold letters, digits, ".", "_" and "-" (1 to 100).'));
      return;
    }
    setBusy(true);
    setSaveError(undefined);
    setSaved(undefined);
    try {
      // Hierarchy files the policy names travel with it as multipart (matched by file name).
      const hierarchies = [...((form.elements.namedItem('hierarchies') as HTMLInputElement | null)?.files ?? [])];
      let body: Body = { text, type: 'application/yaml' };
      if (hierarchies.length > 0) {
        const parts = new FormData();
        parts.append('policy', text);
        for (const file of hierarchies) parts.append('hierarchies', file, file.name);
        body = { form: parts };
      }
      const stored = await sendJson<{ version: number }>('PUT', policyPath(name), body);
      setSaved(`Saved as version ${stored.version} of ${name} (not approved yet).`);
      if (props.name) reload();
      else navigate(`/committee/policies/${encodeURIComponent(name)}`);
    } catch (failure) {
      setSaveError(failure);
    } finally {
      setBusy(false);
    }
  };

  const current = detail.state === 'ok' ? detail.value : undefined;
  const versions = (current?.versions ?? []).map((v) => v.version).sort((a, b) => a - b);

  return (
    <>
      <p class="crumbs">
        <Link href="/committee">Policies</Link> / {props.name ?? 'new policy'}
      </p>
      <h1>{props.name ? `Policy ${props.name}` : 'New policy'}</h1>
      {detail.state === 'loading' ? <p aria-live="polite">Loading…</p> : null}
      {detail.state === 'error' ? <Problem error={detail.error} /> : null}
      {current?.versions ? (
        <section aria-labelledby="versions-title" class="card">
          <h2 id="versions-title">Versions</h2>
          <TableWrap label="Versions">
            <table>
              <caption>Every stored version of {current.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">SHA-256</th>
                  <th scope="col">Stored</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {[...current.versions].reverse().map((v) => {
                  const state = v.decision?.state ?? (v.approved ? 'approved' : 'pending');
                  return (
                    <tr key={v.version}>
                      <th scope="row">{v.version}</th>
                      <td>
                        <code title={v.sha256}>{shortHash(v.sha256)}</code>
                      </td>
                      <td>{when(v.createdAt)}</td>
                      <td>
                        <span class={`state ${state}`}>{state}</span>
                        {v.decision?.by ? ` by ${v.decision.by}` : ''}
                        {v.decision?.comment ? ` — “${v.decision.comment}”` : ''}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        </section>
      ) : null}
      <section aria-labelledby="edit-title" class="card">
        <h2 id="edit-title">{props.name ? 'Edit (saving stores a new version)' : 'Write the policy'}</h2>
        <form onSubmit={(event) => void save(event)}>
          {props.name ? null : (
            <>
              <label for="policy-name">Policy name (must equal the YAML's name)</label>
              <input id="policy-name" value={newName} onInput={(event) => setNewName(event.currentTarget.value)} required pattern="[A-Za-z0-9._-]{1,100}" />
            </>
          )}
          <PolicyEditor text={text} onText={setText} fileName="policy.yaml" />
          <label for="hierarchies">Hierarchy files the policy names (optional; ARX CSVs, matched by file name)</label>
          <input id="hierarchies" name="hierarchies" type="file" accept=".csv,text/csv" multiple />
          <button type="submit" aria-disabled={busy ? 'true' : undefined}>
            {busy ? 'Saving…' : 'Save as a new version'}
          </button>
        </form>
        {saved ? (
          <p class="ok" role="status">
            {saved}
          </p>
        ) : null}
        {saveError ? <Problem error={saveError} what="Not saved" /> : null}
      </section>
      {props.name && versions.length > 0 ? (
        <>
          {versions.length > 1 ? <VersionDiff name={props.name} versions={versions} /> : null}
          {/* keyed by the policy, not its versions: a save must not rebuild a panel under the keyboard focus */}
          <PreviewPanel key={`p-${props.name}`} name={props.name} versions={versions} />
          <DecisionPanel key={`d-${props.name}`} name={props.name} versions={versions} onDecided={reload} />
        </>
      ) : null}
    </>
  );
}
