import { useEffect, useState } from 'preact/hooks';
import { getJson, policyPath, type PolicyDetail, type PolicySummary } from '../../api';
import { Problem } from '../../components/Problem';
import { useLoad } from '../../components/useLoad';
import { approvedPrivacy, type ApprovedPrivacy } from '../../lib/tighten';
import { JobsTable, type ListedJob } from '../JobsTable';
import { SubmitJob, type JobKind } from './SubmitJob';

/** Which upload each policy section takes: tabular → CSV, dicom → DICOM, pixels → images. */
const KIND_OF_SECTION: Record<string, JobKind> = { tabular: 'tabular', dicom: 'dicom', pixels: 'image' };

export interface ChosenPolicy {
  name: string;
  version: number;
  kinds: JobKind[];
  privacy: ApprovedPrivacy | undefined;
}

/** The researcher's start: pick an approved policy, tighten it, upload, and see your jobs. */
export function ResearcherHome() {
  const [policies] = useLoad(() => getJson<{ policies: PolicySummary[] }>('/v1/policies'), 'policies');
  const [jobs] = useLoad(() => getJson<{ jobs: ListedJob[] }>('/v1/jobs'), 'jobs');
  const [selected, setSelected] = useState('');
  const [chosen, setChosen] = useState<ChosenPolicy | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const approved = policies.state === 'ok' ? policies.value.policies.filter((p) => p.approvedVersions.length > 0) : [];

  useEffect(() => {
    setChosen(undefined);
    setError(undefined);
    const summary = approved.find((p) => p.name === selected);
    if (!summary) return;
    const version = Math.max(...summary.approvedVersions);
    let current = true;
    // The YAML parser is loaded only here (a chunk of its own): the other views never need it.
    Promise.all([getJson<PolicyDetail>(policyPath(summary.name, `?version=${version}`)), import('yaml')]).then(
      ([detail, { parse }]) => {
        if (!current) return;
        let document: unknown;
        try {
          document = parse(detail.yaml);
        } catch {
          document = undefined;
        }
        const sections: string[] = detail.sections;
        const kinds = sections.map((section) => KIND_OF_SECTION[section]).filter((kind): kind is JobKind => kind !== undefined);
        setChosen({ name: summary.name, version, kinds, privacy: approvedPrivacy(document) });
      },
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
    // the list is stable once loaded; the choice drives this
  }, [selected, policies.state]);

  return (
    <>
      <h1>Run a job</h1>
      <section aria-labelledby="choose-title" class="card">
        <h2 id="choose-title">1. Choose an approved policy</h2>
        {policies.state === 'error' ? <Problem error={policies.error} /> : null}
        {policies.state === 'ok' && approved.length === 0 ? <p>No policy is approved yet: ask your committee.</p> : null}
        <label for="policy-choice">Policy</label>
        <select id="policy-choice" value={selected} onChange={(event) => setSelected(event.currentTarget.value)}>
          <option value="">— choose —</option>
          {approved.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name} (approved version {Math.max(...p.approvedVersions)})
            </option>
          ))}
        </select>
        {error ? <Problem error={error} /> : null}
      </section>
      {chosen ? <SubmitJob key={`${chosen.name}@${chosen.version}`} policy={chosen} /> : null}
      <section aria-labelledby="mine-title" class="card">
        <h2 id="mine-title">Your jobs</h2>
        {jobs.state === 'error' ? <Problem error={jobs.error} /> : null}
        {jobs.state === 'ok' ? <JobsTable jobs={jobs.value.jobs} base="/researcher/jobs" showSubmitter={false} /> : null}
      </section>
    </>
  );
}
