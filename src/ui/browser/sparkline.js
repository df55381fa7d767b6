import { html } from "./html.js";

const width = 96;
const height = 24;

/** A line of the last samples' values (0–100 %), as an SVG with a text alternative. */
export function Sparkline({ values, label }) {
  const numbers = values.filter((value) => typeof value === "number");
  // One sample draws a flat line.
  if (numbers.length === 1) numbers.push(numbers[0]);
  const last = numbers[numbers.length - 1];
  // The cell names the metric already (its column header, or its label on a narrow screen).
  if (last === undefined) return html`<span class="spark-empty">no samples yet</span>`;
  const text = `${label}: ${last.toFixed(1)} %`;
  const step = width / (numbers.length - 1);
  const points = numbers
    .map((value, index) => {
      const y = height - (Math.min(Math.max(value, 0), 100) / 100) * (height - 2) - 1;
      return `${(index * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
  return html`
    <span class="spark">
      <svg width=${width} height=${height} viewBox="0 0 ${width} ${height}" role="img"
        aria-label=${text}>
        <polyline points=${points} />
      </svg>
      <span class="spark-value" aria-hidden="true">${last.toFixed(1)}%</span>
    </span>
  `;
}
