/** Characters of a build log the database keeps (the full log stays in a file). */
export const maxStoredLogChars = 8_000;
/** How much of the start of a long log is kept; the rest of the budget goes to its end. */
const headChars = 1_500;

function marker(omitted: number): string {
  return `\n[... ${omitted} characters omitted: the full log is at GET /api/images/{id}/build-logs ...]\n`;
}

/** Whether a kept log lost its middle to `truncateLog`. */
export function isTruncatedLog(text: string): boolean {
  return /\n\[\.\.\. \d+ characters omitted: the full log is at GET \/api\/images\/\{id\}\/build-logs \.\.\.\]\n/.test(
    text,
  );
}

/**
 * The head and the tail of a log with a marker between, at most `max` characters, so that the
 * error at the end of a failed build always survives. Short logs come back unchanged. Pure.
 */
export function truncateLog(text: string, max: number = maxStoredLogChars): string {
  if (text.length <= max) return text;
  const head = text.slice(0, Math.min(headChars, Math.floor(max / 4)));
  const room = max - head.length - marker(text.length).length;
  const tail = room > 0 ? text.slice(text.length - room) : "";
  return `${head}${marker(text.length - head.length - tail.length)}${tail}`;
}

/**
 * Keeps what `truncateLog` would return for everything appended so far, in bounded memory: the
 * head once, and a tail trimmed now and then. `snapshot()` equals `truncateLog(all text)`.
 */
export function createLogKeeper(max: number = maxStoredLogChars) {
  const headLimit = Math.min(headChars, Math.floor(max / 4));
  let head = "";
  let rest = "";
  let total = 0;
  return {
    append(text: string): void {
      total += text.length;
      if (head.length < headLimit) {
        const taken = text.slice(0, headLimit - head.length);
        head += taken;
        text = text.slice(taken.length);
      }
      rest += text;
      // Only the last `max` characters of the rest can ever be shown.
      if (rest.length > 2 * max) rest = rest.slice(rest.length - max);
    },
    get length(): number {
      return total;
    },
    snapshot(): string {
      if (total <= max) return head + rest;
      const room = max - head.length - marker(total).length;
      const tail = room > 0 ? rest.slice(rest.length - room) : "";
      return `${head}${marker(total - head.length - tail.length)}${tail}`;
    },
  };
}

export type LogKeeper = ReturnType<typeof createLogKeeper>;
