import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../../scripts/local.ts';
import { CONFIG_NAMES } from '../../worker/config-names.ts';

describe('configuration names', () => {
  it("are the names of the README's Configuration table, in the same order", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Configuration\n'));
    const table = section.slice(0, section.indexOf('\n## ', 1));
    const names = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect(names).toEqual([...CONFIG_NAMES]);
  });
});
