/** Minimal, self-contained HTML page shell shared by Veil's reports (inline CSS, no scripts). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1000px; color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
.meta { color: #57606a; font-size: .9rem; }
.headline { font-size: 1.05rem; background: #f6f8fa; border-left: 4px solid #0969da; padding: .5rem .8rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; } code { background: #f6f8fa; padding: 0 .2rem; border-radius: 3px; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; font-weight: 600; } .fail, .bad { color: #cf222e; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } .chart { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem; }
dl dt { font-weight: 600; margin-top: .5rem; } dl dd { margin-left: 1rem; color: #424a53; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A table cell: text (escaped), a number (right-aligned), or text marked good or bad. */
export type Cell = string | number | { text: string; mark: 'ok' | 'bad' };

export function table(headers: string[], rows: Cell[][]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const td = (cell: Cell): string =>
    typeof cell === 'number' ? `<td class="num">${formatNumber(cell)}</td>` : typeof cell === 'string' ? `<td>${escapeHtml(cell)}</td>` : `<td class="${cell.mark}">${escapeHtml(cell.text)}</td>`;
  const body = rows.map((row) => `<tr>${row.map(td).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4);
}
