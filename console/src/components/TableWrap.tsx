import type { ComponentChildren } from 'preact';

/** A table that may scroll sideways on a narrow screen: a focusable, named region, so keys scroll it too. */
export function TableWrap(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.label}>
      {props.children}
    </div>
  );
}
