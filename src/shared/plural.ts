/** "1 step", "2 steps", "1,234 events": a count with its noun, singular or plural as English wants. */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? noun : pluralNoun}`;
}
