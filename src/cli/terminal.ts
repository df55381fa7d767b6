import { styleText } from "node:util";

export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "cyan" | "magenta" | "blue";

/** What the output is: a terminal gets colour and redrawn progress, a pipe plain lines. */
export type Terminal = {
  /** Standard output is a terminal: progress may be redrawn in place. */
  readonly tty: boolean;
  /** Colour is wanted: a terminal, and neither NO_COLOR nor TERM=dumb. */
  readonly color: boolean;
};

/** Decides from the stream and the environment (NO_COLOR, FORCE_COLOR, TERM). Pure. */
export function terminalOf(isTty: boolean, environment: NodeJS.ProcessEnv): Terminal {
  const noColor = (environment.NO_COLOR ?? "") !== "" || environment.TERM === "dumb";
  const forced = environment.FORCE_COLOR !== undefined && environment.FORCE_COLOR !== "0";
  return { tty: isTty, color: forced || (isTty && !noColor) };
}

/** `text` in `style` when colour is on, as it is otherwise. Pure. */
export function paint(terminal: Terminal, style: Style, text: string): string {
  return terminal.color ? styleText(style, text, { validateStream: false }) : text;
}

/** The same colour for the same name (log prefixes). Pure. */
export function colorFor(name: string): Style {
  const palette: readonly Style[] = ["cyan", "magenta", "yellow", "green", "blue"];
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return palette[hash % palette.length] ?? "cyan";
}
