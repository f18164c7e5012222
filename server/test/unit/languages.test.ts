import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandFor, isEsm } from '../../src/executions/languages.js';

describe('isEsm', () => {
  const cases: [string, boolean][] = [
    ['import cronium from "cronium";\nconsole.log(1)', true],
    ['import { getInput } from "cronium"', true],
    ["import * as c from 'cronium'", true],
    ['export const x = 1', true],
    ['const x = await fetch("x")', true],
    ['await cronium.setOutput(1)', true],
    ['const cronium = require("cronium");\n(async () => {\n  await cronium.input();\n})();', false],
    ['console.log("hello")', false],
    ['async function f() {\n  await g();\n}\nf();', false],
    ['// import x from "y" is just a comment here\nconsole.log(1)', false],
  ];
  for (const [src, esm] of cases) it(`${esm ? 'ESM' : 'CJS'}: ${src.split('\n')[0]}`, () => assert.equal(isEsm(src), esm));
});

describe('commandFor', () => {
  it('runs python unbuffered so logs stream live', () => {
    assert.deepEqual(commandFor('python', 'print(1)').argv, ['python3', '-u', '/work/main.py']);
  });
  it('names node files by module kind', () => {
    assert.equal(commandFor('node', 'import a from "a"').filename, 'main.mjs');
    assert.equal(commandFor('node', 'require("a")').filename, 'main.cjs');
  });
});
