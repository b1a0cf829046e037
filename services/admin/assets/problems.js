/**
 * Problems (mapping errors, invalid expressions, JSON typos) shown where they are: the expression
 * or line of text with the offending character marked.
 */
import { h } from './dom.js';

/** The part of `text` around 0-based `position`, with that character in a <mark>. */
export function highlight(text, position) {
  let start = 0;
  let end = text.length;
  if (text.length > 100 || text.includes('\n')) {
    start = text.lastIndexOf('\n', position - 1) + 1;
    end = text.indexOf('\n', position);
    if (end < 0) end = text.length;
  }
  const at = text.slice(position, position + 1);
  return h(
    'code',
    { class: 'expr', title: `character ${position + 1}` },
    text.slice(start, position),
    h('mark', {}, at === '' || at === '\n' ? '␣' : at),
    text.slice(position + 1, end),
  );
}

export function problemList(problems, expressionFor = () => undefined) {
  return h(
    'ul',
    { class: 'problems' },
    problems.map((problem) => {
      const source = problem.source ?? expressionFor(problem.field);
      const hasPosition = Number.isInteger(problem.position);
      return h(
        'li',
        { class: 'problem', dataset: { code: problem.code ?? '' } },
        h('div', {}, problem.code && [h('code', {}, problem.code), ' '], problem.message),
        (problem.field || hasPosition) && h('div', { class: 'where' }, [problem.field && `in ${problem.field}`, hasPosition && ` at character ${problem.position + 1}`]),
        typeof source === 'string' && hasPosition && h('div', {}, highlight(source, problem.position)),
      );
    }),
  );
}

function jsonErrorPosition(message, text) {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (!lineColumn) return undefined;
  const lines = text.split('\n').slice(0, Number(lineColumn[1]) - 1);
  return lines.reduce((sum, line) => sum + line.length + 1, 0) + Number(lineColumn[2]) - 1;
}

/** Parses a textarea's JSON; on a typo, selects it in the textarea and throws a positioned problem. */
export function readJson(textarea, what) {
  try {
    return JSON.parse(textarea.value);
  } catch (error) {
    const position = jsonErrorPosition(error.message, textarea.value);
    if (position !== undefined) {
      textarea.focus();
      textarea.setSelectionRange(position, Math.min(position + 1, textarea.value.length));
    }
    const problem = { code: 'invalid-json', field: what, message: error.message, position, source: textarea.value };
    throw Object.assign(new Error(`${what} is not valid JSON.`), { problems: [problem] });
  }
}
