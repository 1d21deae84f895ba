import { useMemo, useState } from 'preact/hooks';
import { sendJson } from '../../api';
import { Problem } from '../../components/Problem';
import { navigate } from '../../router';
import { tightenOverrides, type LVariant, type TightenForm } from '../../lib/tighten';
import type { ChosenPolicy } from './ResearcherHome';

export type JobKind = 'tabular' | 'dicom' | 'image';

const UPLOAD: Record<JobKind, { label: string; accept: string; multiple: boolean; field: string }> = {
  tabular: { label: 'CSV file', accept: '.csv,text/csv', multiple: false, field: 'file' },
  dicom: { label: 'DICOM files, or one zip of them', accept: '.dcm,.zip,application/dicom,application/zip', multiple: true, field: 'files' },
  image: { label: 'PNG, JPEG or TIFF images, or one zip of them', accept: '.png,.jpg,.jpeg,.tif,.tiff,.zip,image/png,image/jpeg,image/tiff,application/zip', multiple: true, field: 'files' },
};

const KIND_NAME: Record<JobKind, string> = { tabular: 'Table (CSV)', dicom: 'DICOM', image: 'Images' };

function numberOrUndefined(text: string): number | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : Number(trimmed);
}

/** Step 2 and 3: tighten (tabular only), upload to the endpoint the policy's sections call for. */
export function SubmitJob(props: { policy: ChosenPolicy }) {
  const { policy } = props;
  const [kind, setKind] = useState<JobKind | undefined>(policy.kinds[0]);
  const [fields, setFields] = useState({ k: '', l: '', lVariant: '', t: '', suppressionLimit: '' });
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const base = policy.privacy;

  const form: TightenForm = {
    k: numberOrUndefined(fields.k),
    l: numberOrUndefined(fields.l),
    lVariant: fields.lVariant === '' ? undefined : (fields.lVariant as LVariant),
    t: numberOrUndefined(fields.t),
    suppressionLimit: numberOrUndefined(fields.suppressionLimit),
  };
  const outcome = useMemo(() => (base ? tightenOverrides(base, form) : { ok: true as const, overrides: {} }), [base, fields]);
  const issueOf = (field: string) => (outcome.ok ? undefined : outcome.issues.find((issue) => issue.field === field || issue.field.startsWith(`${field}.`)));

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!kind || busy) return;
    if (kind === 'tabular' && !outcome.ok) {
      setError(new Error('The form asks for less protection than the approved policy: only tightening is allowed.'));
      return;
    }
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('upload') as HTMLInputElement;
    const files = [...(input.files ?? [])];
    if (files.length === 0) {
      setError(new Error('Choose the file(s) to upload.'));
      return;
    }
    const body = new FormData();
    body.append('policy', policy.name);
    body.append('policyVersion', String(policy.version));
    if (kind === 'tabular' && outcome.ok && Object.keys(outcome.overrides).length > 0) body.append('overrides', JSON.stringify(outcome.overrides));
    for (const file of files) body.append(UPLOAD[kind].field, file, file.name);
    setBusy(true);
    setError(undefined);
    try {
      const job = await sendJson<{ id: string }>('POST', `/v1/${kind}/jobs`, { form: body });
      navigate(`/researcher/jobs/${job.id}`);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  const setField = (name: keyof typeof fields) => (event: Event) => setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value });

  if (!kind) return <p class="problem">This policy has no section a job can run on.</p>;
  const upload = UPLOAD[kind];
  const kIssue = issueOf('overrides.k');
  const lIssue = issueOf('overrides.l');
  const tIssue = issueOf('overrides.t');
  const sIssue = issueOf('overrides.suppressionLimit');

  return (
    <form onSubmit={(event) => void submit(event)} class="card" aria-labelledby="submit-title">
      <h2 id="submit-title">
        2. Run {policy.name} version {policy.version}
      </h2>
      {policy.kinds.length > 1 ? (
        <fieldset>
          <legend>What you upload</legend>
          {policy.kinds.map((option) => (
            <label key={option} class="inline">
              <input type="radio" name="kind" value={option} checked={kind === option} onChange={() => setKind(option)} /> {KIND_NAME[option]}
            </label>
          ))}
        </fieldset>
      ) : (
        <p>Upload: {KIND_NAME[kind]}</p>
      )}
      {kind === 'tabular' && base ? (
        <fieldset>
          <legend>Tighten the privacy model (optional; empty keeps the approved value)</legend>
          <div class="grid">
            <NumberField id="o-k" label={`k (approved ${base.k}; may only grow)`} value={fields.k} onInput={setField('k')} step="1" min="1" issue={kIssue?.message} />
            <NumberField
              id="o-s"
              label={`Suppression limit (approved ${base.suppressionLimit}; may only shrink)`}
              value={fields.suppressionLimit}
              onInput={setField('suppressionLimit')}
              step="0.001"
              min="0"
              max="1"
              issue={sIssue?.message}
            />
            {base.hasSensitive ? (
              <>
                <NumberField
                  id="o-l"
                  label={`l (${base.l ? `approved ${base.l.l}, ${base.l.variant}` : 'not required yet'}; may only grow)`}
                  value={fields.l}
                  onInput={setField('l')}
                  step="1"
                  min="2"
                  issue={lIssue?.message}
                />
                <div class="field">
                  <label for="o-lv">l variant</label>
                  <select id="o-lv" value={fields.lVariant} onChange={setField('lVariant')}>
                    <option value="">{base.l ? `keep ${base.l.variant}` : 'distinct'}</option>
                    <option value="distinct">distinct</option>
                    <option value="entropy">entropy</option>
                    <option value="recursive">recursive</option>
                  </select>
                </div>
                <NumberField
                  id="o-t"
                  label={`t (${base.t !== undefined ? `approved ${base.t}` : 'not required yet'}; may only shrink)`}
                  value={fields.t}
                  onInput={setField('t')}
                  step="0.01"
                  min="0"
                  max="1"
                  issue={tIssue?.message}
                />
              </>
            ) : null}
          </div>
        </fieldset>
      ) : null}
      <label for="upload">{upload.label}</label>
      <input id="upload" name="upload" type="file" accept={upload.accept} multiple={upload.multiple} required />
      <button type="submit" disabled={kind === 'tabular' && !outcome.ok} aria-disabled={busy ? 'true' : undefined}>
        {busy ? 'Uploading…' : 'Start the job'}
      </button>
      {kind === 'tabular' && !outcome.ok ? (
        <p class="bad" role="status">
          Only tightening is allowed: fix the fields marked above.
        </p>
      ) : null}
      {error ? <Problem error={error} what="Job not started" /> : null}
    </form>
  );
}

function NumberField(props: { id: string; label: string; value: string; onInput(event: Event): void; step: string; min?: string; max?: string; issue?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        inputMode="decimal"
        step={props.step}
        min={props.min}
        max={props.max}
        value={props.value}
        onInput={props.onInput}
        aria-invalid={props.issue ? 'true' : undefined}
        aria-describedby={props.issue ? `${props.id}-issue` : undefined}
      />
      {props.issue ? (
        <p id={`${props.id}-issue`} class="bad">
          {props.issue}
        </p>
      ) : null}
    </div>
  );
}
