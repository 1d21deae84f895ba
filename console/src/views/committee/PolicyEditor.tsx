import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, getJson, sendJson, type Validation } from '../../api';
import { Problem } from '../../components/Problem';
import { keysAt, yamlPathAt, type KeySuggestion } from '../../lib/yamlPath';

const VALIDATE_DELAY_MS = 400;

/**
 * The YAML editor: a textarea with line numbers, validation by the server as you type
 * (POST /v1/policies/validate, the same lines `veil policy check` prints, each a link to its
 * line) and the keys the policy schema allows where the cursor is.
 */
export function PolicyEditor(props: { text: string; onText(text: string): void; fileName: string }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLPreElement>(null);
  const [validation, setValidation] = useState<Validation | undefined>(undefined);
  const [validationError, setValidationError] = useState<unknown>(undefined);
  const [checking, setChecking] = useState(false);
  const [schema, setSchema] = useState<unknown>(undefined);
  const [cursorPath, setCursorPath] = useState<string[]>([]);

  useEffect(() => {
    getJson<unknown>('/v1/policies/schema').then(setSchema, () => setSchema(undefined));
  }, []);

  // Debounced validation: the latest text only; an older answer never overwrites a newer one.
  useEffect(() => {
    let current = true;
    setChecking(true);
    const timer = setTimeout(() => {
      sendJson<Validation>('POST', '/v1/policies/validate', { text: props.text, type: 'application/yaml' }).then(
        (answer) => {
          if (!current) return;
          setValidation(answer);
          setValidationError(undefined);
          setChecking(false);
        },
        (error: unknown) => {
          if (!current) return;
          setValidation(undefined);
          setValidationError(error);
          setChecking(false);
        },
      );
    }, VALIDATE_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [props.text]);

  const lineCount = props.text.split('\n').length;
  const numbers = useMemo(() => Array.from({ length: lineCount }, (_, i) => String(i + 1)).join('\n'), [lineCount]);
  const suggestions: KeySuggestion[] = useMemo(() => (schema ? keysAt(schema, cursorPath) : []), [schema, cursorPath]);

  // Called on every input and key-up: the same path keeps the same array, so Preact skips the
  // re-render of the key list (half the renders of a keystroke before).
  const trackCursor = () => {
    const element = area.current;
    if (!element) return;
    const next = yamlPathAt(element.value, element.selectionStart);
    setCursorPath((previous) => (previous.length === next.length && previous.every((key, index) => key === next[index]) ? previous : next));
  };

  const goToLine = (line: number) => {
    const element = area.current;
    if (!element) return;
    const lines = element.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
    element.focus();
    element.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    // Put the line in view: about one line-height per line above it.
    const lineHeight = element.scrollHeight / Math.max(1, lines.length);
    element.scrollTop = Math.max(0, (line - 3) * lineHeight);
    trackCursor();
  };

  const insertKey = (key: string) => {
    const element = area.current;
    if (!element) return;
    const at = element.selectionStart;
    const before = element.value.slice(0, at);
    const lineStart = before.lastIndexOf('\n') + 1;
    const typed = /[A-Za-z0-9_-]*$/.exec(before)?.[0] ?? '';
    const onlyIndent = /^\s*(-\s+)?$/.test(before.slice(lineStart, at - typed.length));
    const insertion = onlyIndent ? `${key}: ` : `\n${/^\s*/.exec(before.slice(lineStart))?.[0] ?? ''}${key}: `;
    const from = onlyIndent ? at - typed.length : at;
    const next = element.value.slice(0, from) + insertion + element.value.slice(at);
    props.onText(next);
    requestAnimationFrame(() => {
      element.focus();
      element.setSelectionRange(from + insertion.length, from + insertion.length);
      trackCursor();
    });
  };

  const issues = validation?.issues ?? [];
  const pathLabel = cursorPath.length === 0 ? 'the top level' : cursorPath.join('.').replace(/\.\[\]/g, '[]');

  return (
    <div class="editor">
      <label for="policy-yaml">Policy YAML</label>
      <div class="editor-frame">
        <pre class="gutter" aria-hidden="true" ref={gutter}>
          {numbers}
        </pre>
        <textarea
          id="policy-yaml"
          ref={area}
          value={props.text}
          spellcheck={false}
          autoComplete="off"
          wrap="off"
          rows={22}
          aria-describedby="validation-status"
          onInput={(event) => {
            props.onText(event.currentTarget.value);
            trackCursor();
          }}
          onKeyUp={trackCursor}
          onClick={trackCursor}
          onScroll={(event) => {
            if (gutter.current) gutter.current.scrollTop = event.currentTarget.scrollTop;
          }}
        />
      </div>
      <div class="validation" aria-live="polite" id="validation-status">
        {checking ? <p class="hint">Checking…</p> : null}
        {!checking && validation?.ok ? <p class="ok">No problems: the policy is valid.</p> : null}
        {!checking && validation && !validation.ok ? (
          <>
            <p class="bad">
              {issues.length} problem{issues.length === 1 ? '' : 's'} (as <code>veil policy check</code> prints them):
            </p>
            <ul class="issues">
              {issues.map((issue, index) => (
                <li key={`${index}-${issue.text}`}>
                  {issue.line ? (
                    <a
                      href={`#policy-yaml`}
                      onClick={(event) => {
                        event.preventDefault();
                        goToLine(issue.line ?? 1);
                      }}
                    >
                      <code>{issue.text}</code>
                    </a>
                  ) : (
                    <code>{issue.text}</code>
                  )}
                </li>
              ))}
            </ul>
          </>
        ) : null}
        {!checking && validationError ? (
          validationError instanceof ApiFailure && validationError.status === 403 ? (
            <Problem error={validationError} />
          ) : (
            <Problem error={validationError} what="Validation is not available" />
          )
        ) : null}
      </div>
      <details class="completion" open>
        <summary>Keys allowed at {pathLabel}</summary>
        {suggestions.length === 0 ? (
          <p class="hint">{schema ? 'No keys here (a value or a list is expected).' : 'The schema is loading.'}</p>
        ) : (
          <ul class="keys" aria-label={`Keys allowed at ${pathLabel}`}>
            {suggestions.map((suggestion) => (
              <li key={suggestion.key}>
                <button type="button" class="key" onClick={() => insertKey(suggestion.key)} title={suggestion.description}>
                  {suggestion.key}
                </button>
                {suggestion.description ? <span class="hint"> {suggestion.description}</span> : null}
              </li>
            ))}
          </ul>
        )}
      </details>
      <p class="hint">Problems name {props.fileName} and a line, as on the command line.</p>
    </div>
  );
}
