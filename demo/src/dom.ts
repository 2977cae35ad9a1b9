/** The few DOM helpers the demo needs: typed look-ups and table rows. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export function say(id: string, text: string, tone?: 'ok' | 'bad'): void {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('ok', tone === 'ok');
  el.classList.toggle('bad', tone === 'bad');
}

/** Replaces a table's body with rows of cells; a cell may carry a class. */
export function fillTable(id: string, rows: readonly (readonly (string | { text: string; cls: string })[])[], rowClass?: (i: number) => string | undefined): void {
  const body = $(id).querySelector('tbody')!;
  body.replaceChildren(
    ...rows.map((cells, i) => {
      const tr = document.createElement('tr');
      const cls = rowClass?.(i);
      if (cls) tr.className = cls;
      for (const c of cells) {
        const td = document.createElement('td');
        if (typeof c === 'string') td.textContent = c;
        else {
          td.textContent = c.text;
          td.className = c.cls;
        }
        tr.append(td);
      }
      return tr;
    }),
  );
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function count(n: number): string {
  return Math.round(n).toLocaleString('en');
}
