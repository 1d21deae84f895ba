import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, onSessionEnded, sendJson, setCsrfToken, type Role, type Session } from './api';
import { Link } from './components/Link';
import { match, navigate, usePath } from './router';
import { SignIn } from './views/SignIn';
import { CommitteeHome } from './views/committee/CommitteeHome';
import { PolicyPage } from './views/committee/PolicyPage';
import { ResearcherHome } from './views/researcher/ResearcherHome';
import { JobPage } from './views/JobPage';
import { AuditorJobs } from './views/auditor/AuditorJobs';
import { AuditLog } from './views/auditor/AuditLog';

const HOME: Record<Role, string> = { committee: '/committee', researcher: '/researcher', auditor: '/auditor' };

const NAV: Record<Role, { href: string; label: string }[]> = {
  committee: [
    { href: '/committee', label: 'Policies' },
    { href: '/committee/new', label: 'New policy' },
  ],
  researcher: [{ href: '/researcher', label: 'Run a job' }],
  auditor: [
    { href: '/auditor', label: 'Jobs' },
    { href: '/auditor/audit', label: 'Audit log' },
  ],
};

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [ended, setEnded] = useState(false);
  const path = usePath();
  // Focus goes to the view's heading on a route change and after sign-in (not on the page's
  // first load, where the skip link is the first Tab stop): otherwise the link or button that
  // led here is removed with the old view, the focus falls to the body, and the next Tab starts
  // at the top of the page or nowhere useful.
  const firstView = useRef(true);
  const signedInHere = useRef(false);
  useEffect(() => {
    if (!session) return;
    const skip = firstView.current && !signedInHere.current;
    firstView.current = false;
    signedInHere.current = false;
    if (!skip) focusHeading();
  }, [path, session]);

  useEffect(() => {
    getJson<Session>('/v1/session').then(
      (found) => {
        setCsrfToken(found.csrfToken);
        setSession(found);
      },
      () => setSession(null),
    );
  }, []);

  // Any 401 later (idle timeout, key revoked) brings back the sign-in form.
  useEffect(() => {
    onSessionEnded(() => {
      setCsrfToken(undefined);
      setSession(null);
      setEnded(true);
    });
    return () => onSessionEnded(undefined);
  }, []);

  useEffect(() => {
    document.title = session ? `Veil console — ${session.role}` : 'Veil console — sign in';
  }, [session]);

  if (session === undefined) {
    return (
      <main id="main" class="page">
        <p aria-live="polite">Loading…</p>
      </main>
    );
  }
  if (session === null) {
    return (
      <SignIn
        notice={ended ? 'Your session ended (idle too long, or signed out elsewhere): sign in again.' : undefined}
        onSignedIn={(created) => {
          setEnded(false);
          signedInHere.current = true;
          setCsrfToken(created.csrfToken);
          setSession(created);
          if (location.pathname === '/' || location.pathname === '') navigate(HOME[created.role]);
        }}
      />
    );
  }

  const signOut = async () => {
    try {
      await sendJson('DELETE', '/v1/session');
    } finally {
      setCsrfToken(undefined);
      setSession(null);
      navigate('/');
    }
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="bar">
        <p class="brand">Veil console</p>
        <nav aria-label="Views">
          <ul>
            {NAV[session.role].map((item) => (
              <li key={item.href}>
                <Link href={item.href} current={path === item.href}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <p class="who">
          <span class="role" data-role={session.role}>
            {session.role}
          </span>{' '}
          {session.name}
        </p>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" class="page" tabIndex={-1}>
        <Route path={path} session={session} home={HOME[session.role]} />
      </main>
    </>
  );
}

/** Moves the focus to the view's h1 once it is drawn (a redirect may draw it a frame later). */
function focusHeading(): void {
  requestAnimationFrame(() => {
    const heading = document.querySelector<HTMLElement>('main h1');
    if (!heading) return;
    heading.tabIndex = -1; // focusable by script, not a Tab stop
    heading.focus();
  });
}

function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, { replace: true }), [props.to]);
  return null;
}

function Route(props: { path: string; session: Session; home: string }) {
  const { path, session } = props;
  if (path === '/' || path === '') return <Redirect to={props.home} />;
  if (path === '/committee') return <CommitteeHome />;
  if (path === '/committee/new') return <PolicyPage name={undefined} />;
  let params = match('/committee/policies/:name', path);
  if (params) return <PolicyPage name={params.name} />;
  if (path === '/researcher') return <ResearcherHome />;
  params = match('/researcher/jobs/:id', path) ?? match('/auditor/jobs/:id', path);
  if (params) return <JobPage id={params.id} role={session.role} />;
  if (path === '/auditor') return <AuditorJobs />;
  if (path === '/auditor/audit') return <AuditLog />;
  return (
    <section aria-labelledby="nf">
      <h1 id="nf">Not found</h1>
      <p>
        No view at this address. <Link href={props.home}>Back to your views</Link>
      </p>
    </section>
  );
}
