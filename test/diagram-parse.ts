/** Reads a Mermaid state diagram back for the diagram specs. */

/** The statements of a diagram with the block (composite state) each one sits in. */
export function parse(mermaid: string) {
  const lines = mermaid.split('\n');
  const body = lines.slice(lines.indexOf('stateDiagram-v2') + 1);
  const stack: string[] = ['(root)'];
  const statements: { block: string; text: string }[] = [];
  const parentOf = new Map<string, string>();
  let inNote = false;
  for (const raw of body) {
    const line = raw.trim();
    if (line === '' || line.startsWith('%%')) continue;
    if (inNote) {
      if (line === 'end note') inNote = false;
      statements.push({ block: 'note', text: line });
      continue;
    }
    if (line.startsWith('note ')) {
      inNote = true;
      continue;
    }
    const open = /^state (\S+) \{$/.exec(line);
    if (open) {
      parentOf.set(open[1]!, stack[stack.length - 1]!);
      stack.push(open[1]!);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    const block = stack[stack.length - 1]!;
    const declared = /^state ".*" as (\S+)$/.exec(line) ?? /^([A-Za-z_]\w*)$/.exec(line);
    if (declared && !parentOf.has(declared[1]!)) parentOf.set(declared[1]!, block);
    statements.push({ block, text: line });
  }
  const edges = statements.filter((s) => s.text.includes(' --> ')).map((s) => s.text);
  return { statements, parentOf, edges, depthAtEnd: stack.length };
}
