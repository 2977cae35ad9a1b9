/**
 * A small line chart of throughput on a canvas: one line per contender, records/s so far on the
 * y axis, records done on the x axis (so both contenders span the same width however fast they are). Redrawn whole on each new point (a few hundred
 * points at most), which keeps it free of any chart library.
 */
export interface Series {
  label: string;
  color: string;
  /** [records done, records per second so far] */
  points: [number, number][];
}

const PAD = { left: 70, right: 16, top: 14, bottom: 34 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(n % 1e3 === 0 ? 0 : 1)}k` : String(Math.round(n));
}

export function drawThroughput(canvas: HTMLCanvasElement, series: readonly Series[]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 220;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const all = series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(1, ...all.map((p) => p[0])));
  const yMax = niceMax(Math.max(1, ...all.map((p) => p[1])));
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (n: number): number => PAD.left + (n / xMax) * plotW;
  const y = (r: number): number => PAD.top + plotH - (r / yMax) * plotH;

  ctx.font = '12px system-ui, sans-serif';
  ctx.strokeStyle = '#d0d7de';
  ctx.fillStyle = '#57606a';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const r = (yMax * i) / 4;
    ctx.beginPath();
    ctx.moveTo(PAD.left, y(r));
    ctx.lineTo(width - PAD.right, y(r));
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillText(`${short(r)}/s`, PAD.left - 6, y(r) + 4);
  }
  ctx.textAlign = 'center';
  for (let i = 0; i <= 4; i++) ctx.fillText(i === 4 ? `${short(xMax)} records` : short((xMax * i) / 4), x((xMax * i) / 4) - (i === 4 ? 24 : 0), height - 12);

  series.forEach((s, k) => {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    s.points.forEach(([t, r], i) => (i === 0 ? ctx.moveTo(x(t), y(r)) : ctx.lineTo(x(t), y(r))));
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.textAlign = 'left';
    ctx.fillRect(PAD.left + 10, PAD.top + 6 + k * 18, 12, 4);
    ctx.fillText(s.label, PAD.left + 28, PAD.top + 12 + k * 18);
  });
}
