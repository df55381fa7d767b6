// The dashboard's one rendering primitive: htm's tagged templates over preact (no build step).
import htm from "htm";
import { h } from "preact";

export const html = htm.bind(h);
