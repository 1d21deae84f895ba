import { useEffect, useState } from 'preact/hooks';
import { policyPath, sendJson } from '../../api';
import { Problem } from '../../components/Problem';

/** Approve or reject one version with a comment; both go to the audit log. */
export function DecisionPanel(props: { name: string; versions: number[]; onDecided(): void }) {
  const latest = props.versions[props.versions.length - 1];
  const [version, setVersion] = useState(latest);
  const [comment, setComment] = useState('');
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  // a version saved above is offered at once, and the last decision's line (about an older
  // version) goes; the panel stays mounted, so the focus stays in it
  useEffect(() => {
    setVersion(latest);
    setOutcome(undefined);
    setError(undefined);
  }, [latest]);
  const [busy, setBusy] = useState(false);

  const decide = async (decision: 'approve' | 'reject') => {
    if (busy) return;
    if (decision === 'reject' && comment.trim() === '') {
      setError(new Error('A rejection needs a comment saying why.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    setOutcome(undefined);
    try {
      const body = comment.trim() === '' ? { version } : { version, comment: comment.trim() };
      await sendJson('POST', policyPath(props.name, `/${decision}`), { json: body });
      setOutcome(`Version ${version} ${decision === 'approve' ? 'approved' : 'rejected'}.`);
      setComment('');
      props.onDecided();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="decide-title" class="card">
      <h2 id="decide-title">Approve or reject</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void decide('approve');
        }}
      >
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
        <label for="decision-comment">Comment (written to the audit log)</label>
        <textarea id="decision-comment" rows={3} maxLength={2000} value={comment} onInput={(event) => setComment(event.currentTarget.value)} />
        <div class="row">
          <button type="submit" aria-disabled={busy ? 'true' : undefined}>
            Approve version {version}
          </button>
          <button type="button" class="danger" aria-disabled={busy ? 'true' : undefined} onClick={() => void decide('reject')}>
            Reject version {version}
          </button>
        </div>
      </form>
      {outcome ? (
        <p class="ok" role="status">
          {outcome}
        </p>
      ) : null}
      {error ? <Problem error={error} what="Decision not recorded" /> : null}
    </section>
  );
}
