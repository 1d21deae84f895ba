import { ApiFailure } from '../api';

/** A refusal or failure, in words: a 403 says the view belongs to another role. */
export function Problem(props: { error: unknown; what?: string }) {
  const error = props.error;
  if (error instanceof ApiFailure) {
    const forbidden = error.status === 403 && error.code !== 'CSRF_FAILED';
    return (
      <div class="problem" role="alert">
        <p>
          <strong>{forbidden ? 'Not allowed for your role' : props.what ?? 'The server refused'}</strong>{' '}
          <span class="code">
            {error.status} {error.code}
          </span>
        </p>
        <p>{forbidden ? 'The server answered 403: this view or action belongs to another role.' : error.message}</p>
        {error.field ? <p>Field: {error.field}</p> : null}
      </div>
    );
  }
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{props.what ?? 'Something went wrong'}</strong>
      </p>
      <p>{error instanceof Error ? error.message : 'Unknown error'}</p>
    </div>
  );
}
